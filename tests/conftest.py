"""Shared fixtures: one GitHub double for the whole session, reset to a fresh demo world per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import jwt
import pytest
import requests
from github import Auth, Github

import reliability
from github_double.demo_world import DEMO_INSTALLATION_ID, build_demo_world, generate_private_key
from github_double.server import GitHubDouble


@pytest.fixture(scope="session")
def app_private_key() -> str:
    """The demo App's RSA key, made once: key generation is the slowest step of a reset."""
    return generate_private_key()


@pytest.fixture(scope="session")
def github_double() -> Iterator[GitHubDouble]:
    double = GitHubDouble().start()
    yield double
    double.stop()


@pytest.fixture
def github(github_double: GitHubDouble, app_private_key: str) -> GitHubDouble:
    """The running double serving a fresh demo world: no faults, no latency, an empty log."""
    world, key = build_demo_world(private_key=app_private_key)
    github_double.reset(world, key)
    return github_double


@pytest.fixture
def mint_token(github: GitHubDouble) -> Callable[..., str]:
    """Mint an installation token over HTTP, as the product would: `mint_token(repositories=[...],
    permissions={...})` narrows it like GitHub's access_tokens endpoint."""

    def mint(repositories: list[str] | None = None, permissions: dict[str, str] | None = None) -> str:
        body: dict = {}
        if repositories is not None:
            body["repositories"] = repositories
        if permissions is not None:
            body["permissions"] = permissions
        url = f"{github.url}/app/installations/{DEMO_INSTALLATION_ID}/access_tokens"
        headers = {"Authorization": f"Bearer {_sign_app_jwt(github)}"}
        reply = requests.post(url, json=body, headers=headers, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()["token"]

    return mint


@pytest.fixture
def client(github: GitHubDouble) -> Callable[[str], Github]:
    """A PyGithub client on the double for a token, without PyGithub's pauses and retries."""

    def make(token: str, **options: object) -> Github:
        settings = {"seconds_between_requests": None, "seconds_between_writes": None, "retry": None,
                    **options}
        return Github(auth=Auth.Token(token), base_url=github.url, **settings)

    return make


@pytest.fixture
def gql(mint_token, client):
    """`gql(query, variables, token=None)` -> the whole JSON answer, errors included (GitHub answers
    200 to all)."""

    def post(query: str, variables: dict | None = None, token: str | None = None) -> dict:
        requester = client(token or mint_token()).requester
        status, _, output = requester.requestJson("POST", requester.graphql_url,
                                                  input={"query": query, "variables": variables or {}})
        assert status == 200, output
        return json.loads(output)

    return post


@pytest.fixture
def app_jwt(github: GitHubDouble) -> Callable[..., str]:
    """Sign App JWTs with the demo key on the double's clock: `app_jwt(exp=..., key=...)` overrides
    claims (iat, exp, iss) or the signing key."""
    return lambda key=None, **claims: _sign_app_jwt(github, key, **claims)


def _sign_app_jwt(github: GitHubDouble, key: str | None = None, **claims: object) -> str:
    now = int(github.world.clock.now().timestamp())
    payload = {"iat": now - 60, "exp": now + 540, "iss": str(github.app_id), **claims}
    # Signed as raw JSON so tests can send claims PyJWT would refuse to encode, such as an integer iss.
    return jwt.api_jws.encode(json.dumps(payload).encode(), key or github.private_key, algorithm="RS256",
                              headers={"typ": "JWT"})


def pytest_terminal_summary(terminalreporter) -> None:
    """The reliability figures, when the run included any of the suite."""
    tally = reliability.figures()
    reliability.write_out()
    if any(tally.values()):
        terminalreporter.write_sep("-", "reliability")
        for figure, value in tally.items():
            terminalreporter.write_line(f"{figure}: {value}")
