"""The GitHub double: a threaded werkzeug server on loopback answering like api.github.com.

Each request passes, in order: the count of requests in flight, the fixed latency, the fault script,
authentication, the secondary limits, the primary rate limit, the route's caller rule, the handler,
then ETag / Last-Modified / 304 and the rate-limit headers.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import threading
import time
import traceback
from email.utils import format_datetime
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from github_double.auth import Principal, authenticate
from github_double.errors import ApiError, not_found
from github_double.faults import Fault, Faults
from github_double.graphql_api import execute_graphql, github_schema, is_mutation
from github_double.limits import CONCURRENT_RETRY_AFTER, Refusal, charges
from github_double.request_log import LoggedRequest, RequestLog
from github_double.rest import URL_MAP, Call, check_caller
from github_double.shapes import Shapes, parse_timestamp
from github_double.world import RateWindow, World

RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                     "again. If you reach out to GitHub Support for help, please include the request ID {}.")
BAD_GATEWAY_HTML = (b"<html><body><h1>502 Bad Gateway</h1>\n"
                    b"The server returned an invalid or incomplete response.\n</body></html>\n")
GRAPHQL_DOCS = "https://docs.github.com/graphql"
GRAPHQL_AUTH_DOCS = f"{GRAPHQL_DOCS}/guides/forming-calls-with-graphql#authenticating-with-graphql"
UNCOUNTED_PATHS = ("/rate_limit",)  # GitHub does not charge for asking about the limit
BY_ID = re.compile(r"^/repositories/(\d+)(/.*)?$")  # GitHub's other name for /repos/{owner}/{repo}


class _QuietHandler(WSGIRequestHandler):
    """The request log records every exchange; stderr stays clean."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class GitHubDouble:
    def __init__(self, world: World | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 web_url: str | None = None, quiet: bool = True) -> None:
        self.world = world or World()
        self.faults = Faults()
        self.log = RequestLog()
        self.latency = 0.0  # seconds added before every answer
        self.web_url = web_url  # base of html_url links; the double's own base when None
        self.private_key: str | None = None  # the App's PEM key, when the world came with one
        self.app_id: int | None = None
        self._host, self._port, self._quiet = host, port, quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> GitHubDouble:
        github_schema()  # parsed once per process, now, so that no first GraphQL answer is slow
        handler = _QuietHandler if self._quiet else WSGIRequestHandler
        self._server = make_server(self._host, self._port, self.wsgi, threaded=True, request_handler=handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="github-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the double is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def reset(self, world: World, private_key: str | None = None) -> None:
        """Serve a new world from a clean slate: no faults, no latency, an empty log."""
        self.world = world
        self.private_key = private_key
        self.app_id = min(world.apps) if world.apps else None
        self.faults.clear()
        self.latency = 0.0
        self.log.clear()

    def __enter__(self) -> GitHubDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one request ----------------------------------------------------------------------------
    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        request.get_data(cache=True)  # read the whole body first: the log keeps it, even for faults
        started = time.monotonic()
        world = self.world
        with world.lock:  # in flight from its arrival to its answer, latency and holds included
            arrived = _identify(world, request)
            key = arrived.budget_key if arrived else "anonymous"
            crowded = not world.budgets.enter(key, world.limits.concurrent)
        try:
            return self._serve(environ, start_response, request, world, started, crowded)
        finally:
            with world.lock:
                world.budgets.leave(key)

    def _serve(self, environ: dict, start_response: Any, request: Request, world: World, started: float,
               crowded: bool) -> Any:
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.take(request.method, request.path)
        if fault and fault.kind == "slow":
            fault.released.wait(fault.seconds)
            fault = None
        if fault and fault.kind == "dropped":
            with world.lock:
                principal = _identify(world, request)
            self._record(request, world, principal, None, started, "dropped")
            _drop(environ)
        with world.lock:
            refusal = None
            try:
                principal, response, refusal = self._answer(request, world, fault, crowded)
            except Exception:  # a bug in the double: answer as GitHub's 500 would, and show why
                traceback.print_exc()
                principal, response = None, _error_response(ApiError(500, "Server Error"))
        self._record(request, world, principal, response, started, fault.kind if fault else None,
                     refusal.limit if refusal else None)
        return response(environ, start_response)

    def _answer(self, request: Request, world: World, fault: Fault | None,
                crowded: bool) -> tuple[Principal | None, Response, Refusal | None]:
        base = request.host_url.rstrip("/")
        shapes = Shapes(world, base, (self.web_url or base).rstrip("/"))
        try:
            principal = authenticate(world, request.headers.get("Authorization"))
        except ApiError as error:
            return None, _error_response(error) if fault is None else _fault_response(fault), None
        resource = "graphql" if request.path.rstrip("/") == "/graphql" else "core"
        window = world.rate_window(principal.rate_key, resource, principal.rate_limit)
        if fault is not None:
            return principal, _with_rate(_fault_response(fault), window, resource), None
        refusal = _secondary_limit(request, world, principal, crowded)
        if refusal is not None:
            return principal, _with_rate(_secondary_response(refusal), window, resource), refusal
        # GraphQL queries are charged their computed cost (and refused) by the GraphQL executor.
        counted = resource == "core" and request.path not in UNCOUNTED_PATHS
        if counted and window.remaining == 0:
            refused = _error_response(_primary_limit(principal, request))
            return principal, _with_rate(refused, window, resource), None
        response = self._route(request, world, principal, shapes, window)
        if counted and response.status_code != 304:
            window.used += 1
        return principal, _with_rate(response, window, resource), None

    def _route(self, request: Request, world: World, principal: Principal, shapes: Shapes,
               window: RateWindow) -> Response:
        try:
            if request.path.rstrip("/") == "/graphql" and request.method == "POST":
                return _graphql(request, world, principal, shapes)
            if request.path.rstrip("/") == "/rate_limit" and request.method == "GET":
                overview = _rate_overview(world, principal, window)
                return _cacheable(request, 200, overview, {}, world.clock.now())
            try:
                path = _by_name(world, request.path)
                (handler, who), args = URL_MAP.bind("double").match(path, method=request.method)
            except (NotFound, MethodNotAllowed) as exc:
                raise not_found() from exc
            check_caller(principal, who)
            status, body, headers = handler(Call(world, principal, request, shapes, args))
        except ApiError as error:
            return _error_response(error)
        return _cacheable(request, status, body, headers, world.clock.now())

    def _record(self, request: Request, world: World, principal: Principal | None, response: Response | None,
                started: float, fault: str | None, refused_by: str | None = None) -> None:
        token = principal.token if principal else None
        self.log.append(LoggedRequest(
            number=0, method=request.method, path=request.path,
            query=dict(request.args.items()), status=response.status_code if response else None,
            principal=principal.label if principal else "invalid",
            token_id=token.id if token else None,
            token_repositories=list(token.repositories) if token and token.repositories is not None else None,
            token_permissions=dict(token.permissions) if token else None,
            time=world.clock.now(), duration=time.monotonic() - started, fault=fault, refused_by=refused_by,
            request_headers=dict(request.headers.items()), request_body=request.get_data(cache=True),
            response_headers=dict(response.headers.items()) if response else {},
            response_body=response.get_data() if response else b"",
        ))


# -- answers ----------------------------------------------------------------------------------------
def _json_response(status: int, body: Any, headers: dict[str, str]) -> Response:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    response = Response(data, status=status, headers=headers)
    if body is not None:
        response.headers["Content-Type"] = "application/json; charset=utf-8"
    else:
        del response.headers["Content-Type"]
    response.headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
    response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
    if "X-GitHub-Request-Id" not in response.headers:
        response.headers["X-GitHub-Request-Id"] = _request_id()
    return response


def _cacheable(request: Request, status: int, body: Any, headers: dict[str, str], now: Any) -> Response:
    """As GitHub: a list GET carries a weak ETag; a single resource, read or written, a strong one and
    Last-Modified (its updated_at, else now). A GET whose If-None-Match matches gets 304, no body."""
    response = _json_response(status, body, headers)
    reading = request.method == "GET"
    if status not in ((200,) if reading else (200, 201)) or body is None:
        return response
    single = isinstance(body, dict)
    if not reading and not single:
        return response
    digest = '"' + hashlib.sha256(response.get_data()).hexdigest()[:40] + '"'
    etag = digest if single else "W/" + digest
    response.headers["ETag"] = etag
    if single:
        changed = parse_timestamp(body.get("updated_at")) if isinstance(body.get("updated_at"), str) else None
        response.headers["Last-Modified"] = format_datetime(changed or now, usegmt=True)
    sent = {t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")}
    if reading and digest in sent:
        not_modified = Response(status=304, headers={"ETag": etag})
        del not_modified.headers["Content-Type"]
        return not_modified
    return response


def _error_response(error: ApiError) -> Response:
    return _json_response(error.status, error.body(), error.headers)


def _secondary_limit(request: Request, world: World, principal: Principal, crowded: bool) -> Refusal | None:
    """Charge the request to the caller's secondary budgets, or the limit that refuses it."""
    if crowded:
        return Refusal("concurrent", CONCURRENT_RETRY_AFTER)
    mutation = request.path.rstrip("/") == "/graphql" and request.method == "POST" and is_mutation(
        _json_or_none(request))
    cost = charges(request.method, request.path, mutation)
    return world.budgets.admit(world.limits, principal.budget_key, cost, world.clock.exact().timestamp())


def _secondary_response(refusal: Refusal) -> Response:
    """GitHub's answer to a request over a secondary limit, on REST and GraphQL alike."""
    request_id = _request_id()
    return _error_response(ApiError(403, SECONDARY_MESSAGE.format(request_id),
                                    documentation_url=RATE_DOCS + "#about-secondary-rate-limits",
                                    headers={"Retry-After": str(refusal.retry_after),
                                             "X-GitHub-Request-Id": request_id}))


def _json_or_none(request: Request) -> Any:
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        return None


def _by_name(world: World, path: str) -> str:
    """/repositories/{id}/... as /repos/{owner}/{repo}/..., the path the routes know."""
    match = BY_ID.match(path)
    if match is None:
        return path
    repo = world.repo_by_id(int(match[1]))
    if repo is None:
        raise not_found()
    return f"/repos/{repo.full_name}{match[2] or ''}"


def _primary_limit(principal: Principal, request: Request) -> ApiError:
    if principal.token and principal.token.installation_id is not None:
        who = f"installation ID {principal.token.installation_id}"
    elif principal.app:
        who = f"app ID {principal.app.id}"
    else:
        who = request.remote_addr or "this client"
    return ApiError(403, f"API rate limit exceeded for {who}.", documentation_url=RATE_DOCS)


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "502":
        return Response(BAD_GATEWAY_HTML, status=502, content_type="text/html")
    if fault.kind == "503":
        return _error_response(ApiError(503, "No server is currently available to service your request. "
                                             "Sorry about that. Please try resubmitting your request and "
                                             "contact us if the problem persists."))
    if fault.kind in ("secondary", "429"):
        request_id = _request_id()
        response = _error_response(ApiError(
            403 if fault.kind == "secondary" else 429, SECONDARY_MESSAGE.format(request_id),
            documentation_url=RATE_DOCS + "#about-secondary-rate-limits",
            headers={"X-GitHub-Request-Id": request_id}))
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response
    return _error_response(ApiError(500, "Server Error"))


def _with_rate(response: Response, window: RateWindow, resource: str) -> Response:
    response.headers["X-RateLimit-Limit"] = str(window.limit)
    response.headers["X-RateLimit-Remaining"] = str(window.remaining)
    response.headers["X-RateLimit-Used"] = str(window.used)
    response.headers["X-RateLimit-Reset"] = str(int(window.reset_at.timestamp()))
    response.headers["X-RateLimit-Resource"] = resource
    return response


def _rate_overview(world: World, principal: Principal, core: RateWindow) -> dict:
    def entry(window: RateWindow) -> dict:
        return {"limit": window.limit, "used": window.used, "remaining": window.remaining,
                "reset": int(window.reset_at.timestamp())}

    graphql = world.rate_window(principal.rate_key, "graphql", principal.rate_limit)
    search = world.rate_window(principal.rate_key, "search", 30)
    return {"resources": {"core": entry(core), "graphql": entry(graphql), "search": entry(search)},
            "rate": entry(core)}


def _graphql(request: Request, world: World, principal: Principal, shapes: Shapes) -> Response:
    if principal.kind == "anonymous":
        raise ApiError(401, "This endpoint requires you to be authenticated.",
                       documentation_url=GRAPHQL_AUTH_DOCS)
    if principal.token is None:
        raise ApiError(403, "Resource not accessible by integration")
    try:
        payload = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as exc:
        raise ApiError(400, "Problems parsing JSON", documentation_url=GRAPHQL_DOCS) from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "Problems parsing JSON", documentation_url=GRAPHQL_DOCS)
    status, body = execute_graphql(world, principal.token, payload, shapes.web)
    return _json_response(status, body, {})


def _identify(world: World, request: Request) -> Principal | None:
    try:
        return authenticate(world, request.headers.get("Authorization"))
    except ApiError:
        return None


def _request_id() -> str:
    """In GitHub's form, five hexadecimal groups: "FA2D:87B1:8879E3:1176C87:6570B7E6"."""
    sizes = (4, 4, 6, 7, 8)
    return ":".join(secrets.token_hex(4)[:size].upper() for size in sizes)


def _drop(environ: dict) -> None:
    """Close the client's socket without any HTTP answer; werkzeug treats the error as a dropped peer."""
    sock: socket.socket = environ["werkzeug.socket"]
    sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("fault: dropped connection")
