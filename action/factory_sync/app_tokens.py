"""The GitHub App: its JWT sign-in, its installation, and the short-lived installation tokens a run
acts with, each narrowed to the repositories and permissions one use needs, masked as soon as it is
minted, renewed before it expires (or when GitHub refuses it), and revoked however the run ends."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, GithubException, GithubIntegration

from factory_sync.cancel import shielded
from factory_sync.errors import FactorySyncError
from factory_sync.github_client import Client, RenewableAuth, Waits, attempt, connect, read_retry
from factory_sync.model import parse_time

# An installation token lives an hour; a new one is minted this long before the old one expires.
RENEW_BEFORE_EXPIRY = timedelta(minutes=5)
# A token this young is never renewed by the clock (guards against a runner clock that is off).
MIN_TOKEN_AGE = timedelta(minutes=1)

NO_INSTALLATION = "The installation was not found: check `installation-id`, or leave it empty."
JWT_REFUSED = ("GitHub refused the App's JWT: check that app-id and private-key belong to the same App, "
               "that the key was not deleted, and that the runner's clock is right.")


def parse_app_id(value: str) -> int | str:
    """The App's numeric id, or its client id (GitHub accepts either as the JWT issuer)."""
    value = value.strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if value.startswith("Iv") and value.replace(".", "").isalnum() and len(value) >= 8:
        return value
    raise FactorySyncError(
        "app-id is not a GitHub App id: give the App's numeric id or its client id "
        "(App settings > General > About), e.g. `app-id: ${{ vars.FACTORY_APP_ID }}`."
    )


@functools.lru_cache(maxsize=4)  # checking a key takes tens of milliseconds; a good key is checked once
def check_private_key(pem: str) -> None:
    """Fail early, and without echoing the key, when the secret is not an RSA private key in PEM."""
    try:
        load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        # No cause attached: the parser's own message may quote part of the key.
        raise FactorySyncError(
            "private-key is not a PEM private key: paste the whole .pem file the App generated "
            "(all of it, from its BEGIN line to its END line) into the secret."
        ) from None


def describe_permissions(permissions: Mapping[str, str]) -> str:
    """Permissions in a log line or a message: `issues: write, metadata: read`."""
    return ", ".join(f"{name}: {level}" for name, level in sorted(permissions.items()))


def describe_repositories(repos: list[str] | None) -> str:
    """A token's repositories in a log line (None: all the installation's)."""
    if repos is None:
        return "all the installation's repositories"
    return ", ".join(repos) if len(repos) <= 3 else f"{len(repos)} repositories"


@dataclass(frozen=True)
class InstallationToken:
    value: str
    expires_at: str
    repositories: tuple[str, ...]
    permissions: dict[str, str]


class MintRefused(FactorySyncError):
    """GitHub would not grant the token asked for (422): the installation lacks a permission or repository."""


class App:
    """A GitHub App acting through short-lived installation tokens."""

    def __init__(self, app_id: int | str, private_key: str, api_url: str, waits: Waits = Waits()) -> None:  # noqa: B008
        self.app_id = app_id
        # A run makes a handful of App requests (the installation, a few tokens): no pause between them.
        self._integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key.strip()), base_url=api_url, timeout=waits.timeout,
            retry=read_retry(waits), seconds_between_requests=None, seconds_between_writes=None,
        )
        self.api_url = api_url
        self.waits = waits

    def installation_id(self, repo: str) -> int:
        owner, name = repo.split("/", 1)
        return attempt(f"Finding the App's installation on {repo}",
                          lambda: self._integration.get_repo_installation(owner, name).id, {
            401: JWT_REFUSED,
            404: f"Install the App on {repo} (App settings > Install App), or give `installation-id`.",
        })

    def name(self) -> str:
        """The App's name, as GitHub knows it: proves the JWT (app-id and private-key) is accepted."""
        return attempt("Signing in as the App", lambda: self._integration.get_app().name, {401: JWT_REFUSED})

    def grants(self, installation_id: int) -> dict[str, str]:
        """The permissions the installation has granted the App."""
        return attempt(f"Reading installation {installation_id}",
                          lambda: dict(self._integration.get_app_installation(installation_id).permissions),
                          {404: NO_INSTALLATION})

    def mint(self, installation_id: int, repos: list[str] | None,
             permissions: dict[str, str]) -> InstallationToken:
        """A token limited to these repositories (None: all the installation's) and permissions."""
        where = describe_repositories(repos)
        body: dict = {"permissions": permissions}
        if repos is not None:
            body["repositories"] = [r.split("/", 1)[1] for r in repos]
        doing = f"Creating an installation token for {where}"

        def minted() -> dict:
            try:
                # PyGithub's get_access_token cannot narrow repositories; its requester sends the same call.
                return self._integration.requester.requestJsonAndCheck(
                    "POST", f"/app/installations/{installation_id}/access_tokens", input=body)[1]
            except GithubException as exc:
                if exc.status != 422:
                    raise
                raise MintRefused(
                    f"{doing} failed: GitHub answered 422. The installation cannot grant "
                    f"{describe_permissions(permissions)} on {where}: give the App those permissions, accept "
                    "them on the installation, and make sure the installation includes the repositories."
                ) from exc

        data = attempt(doing, minted, {
            401: JWT_REFUSED,
            404: NO_INSTALLATION,
        })
        return InstallationToken(
            data["token"], data.get("expires_at", ""),
            tuple(r["full_name"] for r in data.get("repositories", [])), data.get("permissions", {}),
        )

    def revoke(self, token: str) -> None:
        connect(token, self.api_url, writes=True, waits=self.waits).request(
            "Revoking the installation token", "DELETE", "/installation/token")


class RenewingToken(RenewableAuth):
    """An installation token as PyGithub's auth: asked for before every request, so it is renewed when
    it is about to expire (or when GitHub refused it), each new token announced (masked) before it is
    used and the one it replaces revoked. Tokens last an hour; a resync of a large portfolio can last
    longer."""

    def __init__(self, app: App, installation_id: int, repos: list[str] | None, permissions: dict[str, str],
                 announce: Callable[[InstallationToken], None], clock: Callable[[], datetime],
                 warn: Callable[[str], None]) -> None:
        self._app, self._installation_id = app, installation_id
        self._repos, self._permissions = repos, permissions
        self._announce, self._clock, self._warn = announce, clock, warn
        self._current: InstallationToken | None = None
        self._minted_at = clock()

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        if self._current is None or self._due():
            self.renew()
        assert self._current is not None
        return self._current.value

    @property
    def current(self) -> InstallationToken | None:
        return self._current

    def renew(self, refused: bool = False) -> None:
        """Mint a new token; revoke the old one unless GitHub refuses it already."""
        old = self._current
        self._current = None
        with shielded():  # a cancellation waits until the new token is held, so that it is revoked too
            new = self._app.mint(self._installation_id, self._repos, self._permissions)
            self._announce(new)  # masks it: nothing may print it before this
            self._current, self._minted_at = new, self._clock()
        if old is not None and not refused:
            try:
                self._app.revoke(old.value)
            except FactorySyncError as exc:  # not fatal: it expires within minutes; but say so
                self._warn(f"{exc} The replaced token expires by itself at {old.expires_at}.")

    def revoke(self) -> None:
        """Revoke the current token (raises FactorySyncError if GitHub would not)."""
        current, self._current = self._current, None
        if current is not None:
            self._app.revoke(current.value)

    def _due(self) -> bool:
        assert self._current is not None
        try:
            expires = parse_time(self._current.expires_at)
        except ValueError:
            return False
        now = self._clock()
        return now >= expires - RENEW_BEFORE_EXPIRY and now - self._minted_at >= MIN_TOKEN_AGE

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


def _now() -> datetime:
    return datetime.now(UTC)


class InstallationTokens:
    """The installation tokens of one run, each as narrow as its use: minted on demand, announced
    (masked) at once, renewed before they expire, and all revoked when the block ends, however it ends.
    `warn` hears of a token that could not be revoked."""

    def __init__(self, app: App, installation_id: int, announce: Callable[[InstallationToken], None],
                 warn: Callable[[str], None], clock: Callable[[], datetime] = _now) -> None:
        self.app, self.installation_id = app, installation_id
        self._announce, self._warn, self._clock = announce, warn, clock
        self._auths: list[RenewingToken] = []

    def client(self, repos: list[str] | None, permissions: dict[str, str], *, writes: bool = False,
               write_interval: float | None = None) -> Client:
        """A client on a new token for these repositories (None: all the installation's) and permissions.
        Writes are spaced by `write_interval` seconds; reads, GraphQL queries included, are not."""
        auth = RenewingToken(self.app, self.installation_id, repos, permissions, self._announce, self._clock,
                             self._warn)
        self._auths.append(auth)  # before its token is minted: it is revoked however the run ends
        auth.renew()
        return Client(auth, self.app.api_url, writes=writes, write_interval=write_interval,
                      waits=self.app.waits)

    def close(self) -> None:
        for auth in self._auths:
            current = auth.current
            try:
                auth.revoke()
            except FactorySyncError as exc:
                expires = current.expires_at if current else "within the hour"
                self._warn(f"{exc} The token expires by itself at {expires}.")

    def __enter__(self) -> InstallationTokens:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
