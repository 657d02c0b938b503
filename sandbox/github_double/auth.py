"""Who is calling: App JWTs, installation tokens, workflow tokens or nobody, checked as GitHub does."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from github_double.errors import ApiError, bad_credentials
from github_double.world import App, Token, World

JWT_MAX_LIFETIME = 600  # GitHub refuses an `exp` more than ten minutes ahead
JWT_CLOCK_DRIFT = 60  # and tolerates an `iat` this far in its future
ANONYMOUS_RATE_LIMIT = 60
APP_RATE_LIMIT = 5000

UNDECODABLE = "A JSON web token could not be decoded"
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXP_INVALID = ("'Expiration time' claim ('exp') must be a numeric value representing the future time "
               "at which the assertion expires")
IAT_INVALID = ("'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
               "was issued")
ISS_INVALID = "'Issuer' claim ('iss') must be an Integer"


@dataclass(frozen=True)
class Principal:
    kind: str  # "jwt", "installation", "workflow", "anonymous"
    app: App | None = None
    token: Token | None = None

    @property
    def label(self) -> str:
        """How the request log names the caller."""
        if self.kind == "jwt" and self.app:
            return f"jwt:{self.app.id}"
        if self.kind == "installation" and self.token:
            return f"installation:{self.token.installation_id}"
        return self.kind

    @property
    def rate_key(self) -> str:
        if self.token:
            return f"token:{self.token.id}"
        return f"app:{self.app.id}" if self.app else "anonymous"

    @property
    def budget_key(self) -> str:
        """Whose secondary-limit budget the caller spends: all tokens of one App installation share
        one, a workflow token spends its repository's, an App's JWTs the App's, anonymous callers one."""
        token = self.token
        if token is not None and token.installation_id is not None:
            return f"installation:{token.installation_id}"
        if token is not None:
            return "repository:" + ",".join(sorted(name.lower() for name in token.repositories or ()))
        return f"app:{self.app.id}" if self.app else "anonymous"

    @property
    def rate_limit(self) -> int:
        if self.token:
            return self.token.rate_limit
        return APP_RATE_LIMIT if self.app else ANONYMOUS_RATE_LIMIT


ANONYMOUS = Principal("anonymous")


def authenticate(world: World, authorization: str | None) -> Principal:
    """The caller named by an Authorization header; raises ApiError(401) as GitHub answers."""
    if not authorization:
        return ANONYMOUS
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() not in ("token", "bearer") or not credential:
        raise bad_credentials()
    if scheme.lower() == "bearer" and credential.count(".") == 2:
        return Principal("jwt", app=verify_app_jwt(world, credential))
    token = world.token(credential)
    if token is None or not world.is_live(token):
        raise bad_credentials()
    return Principal("workflow" if token.is_workflow else "installation", token=token)


def verify_app_jwt(world: World, encoded: str) -> App:
    try:
        if jwt.get_unverified_header(encoded).get("alg") != "RS256":
            raise ApiError(401, UNDECODABLE)
        claims = jwt.decode(encoded, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ApiError(401, UNDECODABLE) from exc
    app = _issuer(world, claims.get("iss"))
    try:
        jwt.decode(encoded, app.public_key_pem, algorithms=["RS256"],
                   options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError as exc:
        raise ApiError(401, UNDECODABLE) from exc
    _check_times(world, claims)
    return app


def _issuer(world: World, iss: object) -> App:
    if isinstance(iss, str) and not iss.isdigit():
        app = next((a for a in world.apps.values() if a.client_id == iss), None)
        if app is None:
            raise ApiError(401, UNDECODABLE)
        return app
    if isinstance(iss, bool) or not isinstance(iss, int | str):
        raise ApiError(401, ISS_INVALID)
    app = world.apps.get(int(iss))
    if app is None:
        raise ApiError(401, "Integration not found")
    return app


def _check_times(world: World, claims: dict) -> None:
    now = world.clock.now().timestamp()
    iat, exp = claims.get("iat"), claims.get("exp")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or iat > now + JWT_CLOCK_DRIFT:
        raise ApiError(401, IAT_INVALID)
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= now:
        raise ApiError(401, EXP_INVALID)
    if exp > now + JWT_MAX_LIFETIME:
        raise ApiError(401, EXP_TOO_FAR)
