"""The REST endpoints the double serves: routing, access rules and the handlers over the world.

Handlers run under the world's lock and return (status, JSON body, extra headers); failures are
raised as ApiError and rendered by the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from github_double.auth import Principal
from github_double.errors import (
    ApiError,
    invalid_request,
    not_accessible,
    not_found,
    validation_failed,
)
from github_double.rest_contents import put_content
from github_double.shapes import Shapes, timestamp
from github_double.world import Dispatch, Issue, Repository, World

Reply = tuple[int, Any, dict[str, str]]

MAX_BODY = 65536
MAX_TITLE = 256
MAX_LABEL_NAME = 50
MAX_LABELS = 100
MAX_EVENT_TYPE = 100
MAX_CLIENT_PAYLOAD_KEYS = 10
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
_LEVELS = {"read": 1, "write": 2, "admin": 3}
STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")


@dataclass
class Call:
    world: World
    principal: Principal
    request: Request
    shapes: Shapes
    args: dict[str, Any]

    def json(self) -> Any:
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "Problems parsing JSON") from exc

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return body

    @property
    def actor(self) -> str:
        return self.world.actor_of(self.principal.token) if self.principal.token else "ghost"

    def repo(self, permission: str = "metadata", level: str = "read") -> Repository:
        """The route's repository, as GitHub shows it to this caller: hidden (404) or refused (403)."""
        repo = self.world.repo(f"{self.args['owner']}/{self.args['repo']}")
        token = self.principal.token
        if token is None:  # anonymous: public repositories, read only
            if repo is None or repo.private:
                raise not_found()
            if level != "read":
                raise ApiError(401, "Requires authentication")
            return repo
        if repo is None or not self.world.token_can_see(token, repo):
            raise not_found()
        granted = "read" if permission == "metadata" else token.permissions.get(permission)
        if _LEVELS.get(granted or "", 0) < _LEVELS[level]:
            raise not_accessible(permission, level)
        return repo

    def issue(self, repo: Repository) -> Issue:
        issue = repo.issues.get(self.args["number"])
        if issue is None:
            raise not_found()
        return issue

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.args.get(name, default)


# -- pagination ---------------------------------------------------------------------------------
def paginate(call: Call, items: list) -> tuple[list, dict[str, str]]:
    """One page of `items` and GitHub's Link header (first/prev/next/last) for the others."""
    per_page = min(max(_int(call.query("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_int(call.query("page"), 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page: page * per_page]
    params = dict(call.request.args.items())

    def link(number: int, rel: str) -> str:
        query = urlencode({**params, "page": number})
        return f'<{call.shapes.api}{page_path(call)}?{query}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [link(page - 1, "prev")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first")]
    return chunk, ({"Link": ", ".join(links)} if links else {})


def page_path(call: Call) -> str:
    """The path GitHub's Link headers name: a repository's lists by id, /repositories/{id}/issues."""
    parts = call.request.path.split("/")
    if parts[1:2] == ["repos"] and "repo" in call.args:
        repo = call.world.repo(f"{call.args['owner']}/{call.args['repo']}")
        if repo is not None:
            return "/".join(["", "repositories", str(repo.id), *parts[4:]])
    return call.request.path


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def listed(call: Call, items: list) -> Reply:
    page, headers = paginate(call, items)
    return 200, page, headers


# -- apps and installations (App JWT) ---------------------------------------------------------
def get_app(call: Call) -> Reply:
    return 200, call.shapes.app(call.principal.app), {}


def list_app_installations(call: Call) -> Reply:
    app_id = call.principal.app.id
    installs = [call.shapes.installation(i) for i in call.world.installations.values() if i.app_id == app_id]
    return listed(call, installs)


def _own_installation(call: Call, installation_id: int):
    inst = call.world.installations.get(installation_id)
    if inst is None or inst.app_id != call.principal.app.id:
        raise not_found()
    return inst


def get_app_installation(call: Call) -> Reply:
    return 200, call.shapes.installation(_own_installation(call, call.args["installation_id"])), {}


def get_repo_installation(call: Call) -> Reply:
    repo = call.world.repo(f"{call.args['owner']}/{call.args['repo']}")
    for inst in call.world.installations.values():
        covered = any(r is repo for r in call.world.installation_repos(inst))
        if inst.app_id == call.principal.app.id and covered:
            return 200, call.shapes.installation(inst), {}
    raise not_found()


def get_account_installation(call: Call) -> Reply:
    account = call.args["account"].lower()
    for inst in call.world.installations.values():
        if inst.app_id == call.principal.app.id and inst.account.lower() == account:
            return 200, call.shapes.installation(inst), {}
    raise not_found()


def create_access_token(call: Call) -> Reply:
    inst = _own_installation(call, call.args["installation_id"])
    body = call.json_object()
    visible = call.world.installation_repos(inst)
    repos = _narrow_repositories(visible, inst.account, body.get("repositories"), body.get("repository_ids"))
    requested = body.get("permissions") or {}
    if not isinstance(requested, dict):
        raise invalid_request("Invalid input: `permissions` is expected to be an object.")
    for name, level in requested.items():
        granted = "read" if name == "metadata" else inst.permissions.get(name)
        if level not in _LEVELS or _LEVELS.get(granted or "", 0) < _LEVELS[level]:
            raise ApiError(422, "The permissions requested are not granted to this installation.")
    permissions = {**requested, "metadata": "read"} if requested else dict(inst.permissions)
    token = call.world.mint_installation_token(inst, [r.full_name for r in repos] if repos else None,
                                               permissions)
    reply = {
        "token": token.value, "expires_at": timestamp(token.expires_at), "permissions": permissions,
        "repository_selection": "selected" if repos else inst.repository_selection,
    }
    if repos:
        reply["repositories"] = [call.shapes.repository(r) for r in repos]
    return 201, reply, {}


def _narrow_repositories(visible: list[Repository], account: str, names: Any, ids: Any) -> list[Repository]:
    """The repositories a token asks for (by name within the account, or by id); [] when not narrowed."""
    if (names is not None and not isinstance(names, list)) or (ids is not None and not isinstance(ids, list)):
        raise invalid_request("Invalid input: `repositories` and `repository_ids` are expected to be arrays.")
    chosen: list[Repository] = []
    for name in names or []:
        full = name if "/" in str(name) else f"{account}/{name}"
        chosen.append(next((r for r in visible if r.full_name.lower() == str(full).lower()), None))
    for repo_id in ids or []:
        chosen.append(next((r for r in visible if r.id == repo_id), None))
    if any(r is None for r in chosen):
        raise ApiError(422, "There is at least one repository that does not exist or is not accessible "
                            "to the parent installation.")
    return list({r.id: r for r in chosen}.values())


# -- the installation token itself --------------------------------------------------------------
def revoke_token(call: Call) -> Reply:
    call.principal.token.revoked = True
    return 204, None, {}


def list_installation_repositories(call: Call) -> Reply:
    token = call.principal.token
    repos = [call.shapes.repository(r) for r in call.world.token_repos(token)]
    page, headers = paginate(call, repos)
    selection = "selected" if token.repositories is not None else "all"
    return 200, {"total_count": len(repos), "repository_selection": selection, "repositories": page}, headers


# -- repositories, labels, issues -----------------------------------------------------------------
def get_repository(call: Call) -> Reply:
    return 200, call.shapes.repository(call.repo()), {}


def list_labels(call: Call) -> Reply:
    repo = call.repo("issues")
    return listed(call, [call.shapes.label(repo, lab) for lab in repo.labels.values()])


def get_label(call: Call) -> Reply:
    repo = call.repo("issues")
    label = repo.labels.get(call.args["name"].lower())
    if label is None:
        raise not_found()
    return 200, call.shapes.label(repo, label), {}


def create_label(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    body = call.json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise validation_failed("Label", "name", "missing_field")
    _check_label_name(name)
    color = str(body.get("color") or "ededed").lstrip("#")
    if len(color) != 6 or any(c not in "0123456789abcdefABCDEF" for c in color):
        raise validation_failed("Label", "color", "invalid")
    if name.lower() in repo.labels:
        raise validation_failed("Label", "name", "already_exists")
    label = call.world.ensure_label(repo, name, color.lower(), body.get("description"))
    return 201, call.shapes.label(repo, label), {}


def _check_label_name(name: str) -> None:
    if len(name) > MAX_LABEL_NAME:
        raise validation_failed("Label", "name", "custom",
                                f"name is too long (maximum is {MAX_LABEL_NAME} characters)")


def _label_names(value: Any) -> list[str]:
    """Label names from a `labels` value: names or {"name": ...} objects, as GitHub accepts."""
    if not isinstance(value, list):
        raise invalid_request("Invalid input: `labels` is expected to be an array.")
    names = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise validation_failed("Label", "name", "missing_field")
        _check_label_name(name)
        if name.lower() not in (n.lower() for n in names):
            names.append(name)
    if len(names) > MAX_LABELS:
        raise validation_failed("Issue", "labels", "custom",
                                f"labels must contain at most {MAX_LABELS} items")
    return names


def _check_issue_text(body: dict) -> None:
    if "title" in body and len(str(body["title"] or "")) > MAX_TITLE:
        raise validation_failed("Issue", "title", "custom",
                                f"title is too long (maximum is {MAX_TITLE} characters)")
    if isinstance(body.get("body"), str) and len(body["body"]) > MAX_BODY:
        raise validation_failed("Issue", "body", "custom",
                                f"body is too long (maximum is {MAX_BODY} characters)")


def _assignees(body: dict) -> list[str] | None:
    if "assignees" in body:
        value = body["assignees"] or []
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise invalid_request("Invalid input: `assignees` is expected to be an array of strings.")
        return list(dict.fromkeys(value))
    if "assignee" in body:
        return [body["assignee"]] if body["assignee"] else []
    return None


def list_issues(call: Call) -> Reply:
    repo = call.repo("issues")
    issues = list(repo.issues.values())
    state = call.query("state", "open")
    if state != "all":
        issues = [i for i in issues if i.state == state]
    wanted = [w.strip().lower() for w in (call.query("labels") or "").split(",") if w.strip()]
    if wanted:
        issues = [i for i in issues if set(wanted) <= {n.lower() for n in i.labels}]
    since = call.query("since")
    if since:
        moment = _parse_time(since)
        issues = [i for i in issues if i.updated_at and i.updated_at >= moment]
    for name in ("creator", "assignee"):
        who = call.query(name)
        if who and who not in ("*", "none"):
            issues = [i for i in issues if (who in i.assignees if name == "assignee" else i.user == who)]
    sort = call.query("sort", "created")
    key = {"updated": lambda i: (i.updated_at, i.number)}.get(sort, lambda i: (i.created_at, i.number))
    issues.sort(key=key, reverse=call.query("direction", "desc") != "asc")
    page, headers = paginate(call, issues)  # shape only the page: a Factory can hold thousands of issues
    return 200, [call.shapes.issue(repo, i, listed=True) for i in page], headers


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise validation_failed("Issue", "since", "invalid") from exc


def create_issue(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    body = call.json_object()
    title = body.get("title")
    if title is None or title == "":
        raise validation_failed("Issue", "title", "missing_field")
    _check_issue_text(body)
    labels = _label_names(body["labels"]) if body.get("labels") is not None else []
    issue = call.world.create_issue(repo, str(title), body.get("body"), call.actor,
                                    labels=labels, assignees=_assignees(body))
    location = f"{call.shapes.api}/repos/{repo.full_name}/issues/{issue.number}"
    return 201, call.shapes.issue(repo, issue), {"Location": location}


def get_issue(call: Call) -> Reply:
    repo = call.repo("issues")
    return 200, call.shapes.issue(repo, call.issue(repo)), {}


def update_issue(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    issue = call.issue(repo)
    body = call.json_object()
    _check_issue_text(body)
    state, reason = body.get("state"), body.get("state_reason")
    if state is not None and state not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid")
    if reason is not None and reason not in STATE_REASONS:
        raise validation_failed("Issue", "state_reason", "invalid")
    labels = _label_names(body["labels"]) if body.get("labels") is not None else None
    assignees = _assignees(body)
    world, actor = call.world, call.actor
    if body.get("title"):
        world.rename(issue, str(body["title"]), actor)
    if "body" in body:
        issue.body = body["body"]
    if labels is not None:
        _replace_labels(world, repo, issue, labels, actor)
    if assignees is not None:
        issue.assignees = assignees
    if state is not None:
        world.set_state(issue, state, actor, reason if state == "closed" else None)
    if reason is not None and issue.state == "closed" and reason != "reopened":
        issue.state_reason = reason
    world.touch(issue)
    return 200, call.shapes.issue(repo, issue), {}


def _replace_labels(world: World, repo: Repository, issue: Issue, names: list[str], actor: str) -> None:
    keep = {n.lower() for n in names}
    for existing in list(issue.labels):
        if existing.lower() not in keep:
            world.remove_label(repo, issue, existing, actor)
    for name in names:
        world.add_label(repo, issue, name, actor)


def _labels_body(call: Call) -> list[str]:
    """POST/PUT .../labels take {"labels": [...]}, a bare array, or {"labels": [{"name": ...}]}."""
    body = call.json()
    if isinstance(body, dict):
        body = body.get("labels", [])
    return _label_names(body)


def list_issue_labels(call: Call) -> Reply:
    repo = call.repo("issues")
    return listed(call, call.shapes.issue_labels(repo, call.issue(repo)))


def add_issue_labels(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    issue = call.issue(repo)
    names = _labels_body(call)
    if len({n.lower() for n in issue.labels} | {n.lower() for n in names}) > MAX_LABELS:
        raise validation_failed("Issue", "labels", "custom",
                                f"labels must contain at most {MAX_LABELS} items")
    for name in names:
        call.world.add_label(repo, issue, name, call.actor)
    return 200, call.shapes.issue_labels(repo, issue), {}


def set_issue_labels(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    issue = call.issue(repo)
    _replace_labels(call.world, repo, issue, _labels_body(call), call.actor)
    return 200, call.shapes.issue_labels(repo, issue), {}


def remove_issue_label(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    issue = call.issue(repo)
    if not call.world.remove_label(repo, issue, call.args["name"], call.actor):
        raise ApiError(404, "Label does not exist")
    return 200, call.shapes.issue_labels(repo, issue), {}


def clear_issue_labels(call: Call) -> Reply:
    repo = call.repo("issues", "write")
    issue = call.issue(repo)
    _replace_labels(call.world, repo, issue, [], call.actor)
    return 204, None, {}


def list_issue_events(call: Call) -> Reply:
    repo = call.repo("issues")
    issue = call.issue(repo)
    return listed(call, [call.shapes.event(repo, e) for e in issue.timeline])


def get_issue_event(call: Call) -> Reply:
    repo = call.repo("issues")
    for issue in repo.issues.values():
        for event in issue.timeline:
            if event.id == call.args["event_id"]:
                return 200, {**call.shapes.event(repo, event), "issue": call.shapes.issue(repo, issue)}, {}
    raise not_found()


# -- files -----------------------------------------------------------------------------------------
def get_content(call: Call) -> Reply:
    """A file of the default branch (the double keeps no other refs, and serves no directories)."""
    repo = call.repo("contents")
    ref = call.query("ref")
    if ref not in (None, repo.default_branch):
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = call.args["path"].strip("/")
    data = repo.files.get(path)
    if data is None:
        raise not_found()
    return 200, call.shapes.content_file(repo, path, data), {}


# -- dispatches -----------------------------------------------------------------------------------
def repository_dispatch(call: Call) -> Reply:
    repo = call.repo("contents", "write")
    body = call.json_object()
    event_type = body.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise invalid_request('"event_type" wasn\'t supplied.')
    if len(event_type) > MAX_EVENT_TYPE:
        raise invalid_request(f"event_type is too long (maximum is {MAX_EVENT_TYPE} characters).")
    payload = body.get("client_payload", {})
    if not isinstance(payload, dict):
        raise invalid_request("For 'properties/client_payload', the value is not an object.")
    if len(payload) > MAX_CLIENT_PAYLOAD_KEYS:
        raise invalid_request(f"No more than {MAX_CLIENT_PAYLOAD_KEYS} properties are allowed; "
                              f"{len(payload)} were supplied.")
    call.world.dispatches.append(Dispatch("repository_dispatch", repo.full_name, event_type=event_type,
                                          client_payload=payload, created_at=call.world.clock.now()))
    return 204, None, {}


def workflow_dispatch(call: Call) -> Reply:
    repo = call.repo("actions", "write")
    body = call.json_object()
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise invalid_request('"ref" wasn\'t supplied.')
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise invalid_request("For 'properties/inputs', the value is not an object.")
    call.world.dispatches.append(Dispatch("workflow_dispatch", repo.full_name,
                                          workflow=str(call.args["workflow"]), ref=ref, inputs=inputs,
                                          created_at=call.world.clock.now()))
    return 204, None, {}


# -- routing ------------------------------------------------------------------------------------
Handler = Callable[[Call], Reply]

# Who may call each route: "app" needs an App JWT, "token" an installation or workflow token,
# "repo" a token or (for public repositories) nobody, "any" everyone.
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/app", get_app, "app"),
    ("GET", "/app/installations", list_app_installations, "app"),
    ("GET", "/app/installations/<int:installation_id>", get_app_installation, "app"),
    ("POST", "/app/installations/<int:installation_id>/access_tokens", create_access_token, "app"),
    ("GET", "/repos/<owner>/<repo>/installation", get_repo_installation, "app"),
    ("GET", "/orgs/<account>/installation", get_account_installation, "app"),
    ("GET", "/users/<account>/installation", get_account_installation, "app"),
    ("DELETE", "/installation/token", revoke_token, "token"),
    ("GET", "/installation/repositories", list_installation_repositories, "token"),
    ("GET", "/repos/<owner>/<repo>", get_repository, "repo"),
    ("GET", "/repos/<owner>/<repo>/labels", list_labels, "repo"),
    ("POST", "/repos/<owner>/<repo>/labels", create_label, "repo"),
    ("GET", "/repos/<owner>/<repo>/labels/<path:name>", get_label, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues", list_issues, "repo"),
    ("POST", "/repos/<owner>/<repo>/issues", create_issue, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues/<int:number>", get_issue, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues/events/<int:event_id>", get_issue_event, "repo"),
    ("PATCH", "/repos/<owner>/<repo>/issues/<int:number>", update_issue, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues/<int:number>/labels", list_issue_labels, "repo"),
    ("POST", "/repos/<owner>/<repo>/issues/<int:number>/labels", add_issue_labels, "repo"),
    ("PUT", "/repos/<owner>/<repo>/issues/<int:number>/labels", set_issue_labels, "repo"),
    ("DELETE", "/repos/<owner>/<repo>/issues/<int:number>/labels", clear_issue_labels, "repo"),
    ("DELETE", "/repos/<owner>/<repo>/issues/<int:number>/labels/<path:name>", remove_issue_label, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues/<int:number>/events", list_issue_events, "repo"),
    ("GET", "/repos/<owner>/<repo>/issues/<int:number>/timeline", list_issue_events, "repo"),
    ("GET", "/repos/<owner>/<repo>/contents/<path:path>", get_content, "repo"),
    ("PUT", "/repos/<owner>/<repo>/contents/<path:path>", put_content, "repo"),
    ("POST", "/repos/<owner>/<repo>/dispatches", repository_dispatch, "repo"),
    ("POST", "/repos/<owner>/<repo>/actions/workflows/<workflow>/dispatches", workflow_dispatch, "repo"),
]

URL_MAP = Map([Rule(path, methods=[method], endpoint=(handler, who), strict_slashes=False)
               for method, path, handler, who in ROUTES])


def check_caller(principal: Principal, who: str) -> None:
    """GitHub's answer to a caller of the wrong kind for a route."""
    if who == "app" and principal.kind != "jwt":
        if principal.kind == "anonymous":
            raise ApiError(401, "Requires authentication")
        raise ApiError(401, "A JSON web token could not be decoded")
    if who in ("token", "repo") and principal.kind == "jwt":
        raise ApiError(403, "Resource not accessible by integration")
    if who == "token" and principal.kind == "anonymous":
        raise ApiError(401, "Requires authentication")
