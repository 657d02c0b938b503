"""Load a World from a JSON state file (the format is described in docs/sandbox.md).

Every mistake in the file is reported as a StateFileError naming where it is, so the command
line can print one clear line instead of a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from github_double.demo_world import public_key_of
from github_double.limits import SecondaryLimits
from github_double.projects import ProjectError, add_field, add_item, add_project, archive_item, set_value
from github_double.world import TimelineEvent, World

EVENT_KINDS = ("labeled", "unlabeled", "closed", "reopened", "renamed")


class StateFileError(Exception):
    pass


def load_state(path: Path) -> tuple[World, str | None]:
    """The world the file describes and the first App's private key, when the file points to one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise StateFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StateFileError("the state file must hold a JSON object")
    world = World()
    world.users.update(_get(data, "users", dict, "state", {}))
    try:
        world.limits = SecondaryLimits.from_json(_get(data, "limits", dict, "state", {}))
    except ValueError as exc:
        raise StateFileError(f"limits: {exc}") from exc
    first_key = None
    for i, app in enumerate(_get(data, "apps", list, "state")):
        key = _load_app(world, _as(app, dict, f"apps[{i}]"), f"apps[{i}]", path.parent)
        first_key = first_key or key
    for i, repo in enumerate(_get(data, "repositories", list, "state", [])):
        _load_repository(world, _as(repo, dict, f"repositories[{i}]"), f"repositories[{i}]")
    for i, inst in enumerate(_get(data, "installations", list, "state", [])):
        _load_installation(world, _as(inst, dict, f"installations[{i}]"), f"installations[{i}]")
    for i, project in enumerate(_get(data, "projects", list, "state", [])):
        _load_project(world, _as(project, dict, f"projects[{i}]"), f"projects[{i}]")
    for i, tok in enumerate(_get(data, "workflow_tokens", list, "state", [])):
        _load_workflow_token(world, _as(tok, dict, f"workflow_tokens[{i}]"), f"workflow_tokens[{i}]")
    return world, first_key


def _load_app(world: World, app: dict, where: str, base: Path) -> str | None:
    app_id = _get(app, "id", int, where)
    private_key = None
    if "private_key_path" in app:
        key_path = base / _get(app, "private_key_path", str, where)
        try:
            private_key = key_path.read_text(encoding="ascii")
            public_key = public_key_of(private_key)
        except (OSError, ValueError, TypeError) as exc:
            raise StateFileError(f"{where}.private_key_path: {key_path} is not a readable PEM private key"
                                 ) from exc
    else:
        public_key = _get(app, "public_key_pem", str, where)
        if "BEGIN PUBLIC KEY" not in public_key:
            raise StateFileError(f"{where}.public_key_pem: not a PEM public key")
    world.add_app(app_id, public_key, client_id=_get(app, "client_id", str, where, None),
                  slug=_get(app, "slug", str, where, "factory-sync"),
                  name=_get(app, "name", str, where, "Factory Sync"),
                  owner=_get(app, "owner", str, where, "ohdsi-demo"))
    return private_key


def _load_installation(world: World, inst: dict, where: str) -> None:
    app_id = _get(inst, "app_id", int, where)
    if app_id not in world.apps:
        raise StateFileError(f"{where}.app_id: no app {app_id} in apps")
    repos = inst.get("repositories", "all")
    if repos != "all":
        repos = _as(repos, list, f"{where}.repositories")
        for name in repos:
            if world.repo(str(name)) is None:
                raise StateFileError(f"{where}.repositories: no repository {name} in repositories")
    world.add_installation(app_id, _get(inst, "account", str, where), None if repos == "all" else repos,
                           _permissions(inst, where), installation_id=_get(inst, "id", int, where, None))


def _load_repository(world: World, data: dict, where: str) -> None:
    full_name = _get(data, "full_name", str, where)
    if full_name.count("/") != 1:
        raise StateFileError(f"{where}.full_name: expected owner/name, got {full_name!r}")
    if world.repo(full_name) is not None:
        raise StateFileError(f"{where}.full_name: {full_name} appears twice")
    repo = world.add_repo(full_name, private=_get(data, "private", bool, where, False))
    for i, label in enumerate(_get(data, "labels", list, where, [])):
        if isinstance(label, str):
            world.ensure_label(repo, label)
            continue
        label = _as(label, dict, f"{where}.labels[{i}]")
        world.ensure_label(repo, _get(label, "name", str, f"{where}.labels[{i}]"),
                           _get(label, "color", str, f"{where}.labels[{i}]", "ededed"),
                           _get(label, "description", str, f"{where}.labels[{i}]", None))
    for path, text in _get(data, "files", dict, where, {}).items():
        repo.files[path.strip("/")] = _as(text, str, f"{where}.files[{path!r}]").encode()
    for i, issue in enumerate(_get(data, "issues", list, where, [])):
        here = f"{where}.issues[{i}]"
        issue = _as(issue, dict, here)
        timeline = issue.get("timeline")
        try:
            world.import_issue(
                repo, _get(issue, "title", str, here), _get(issue, "body", str, here, None),
                _get(issue, "user", str, here, "ghost"), created_at=_time(issue, "created_at", here),
                labels=_strings(issue, "labels", here), assignees=_strings(issue, "assignees", here),
                closed_at=_time(issue, "closed_at", here, required=False),
                state_reason=_get(issue, "state_reason", str, here, None),
                timeline=None if timeline is None else _timeline(world, _as(timeline, list, here), here),
                number=_get(issue, "number", int, here, None),
                is_pull_request=_get(issue, "pull_request", bool, here, False))
        except ValueError as exc:
            raise StateFileError(f"{here}: {exc}") from exc


def _timeline(world: World, events: list, where: str) -> list[TimelineEvent]:
    timeline = []
    for i, raw in enumerate(events):
        here = f"{where}.timeline[{i}]"
        event = _as(raw, dict, here)
        kind = _get(event, "event", str, here)
        if kind not in EVENT_KINDS:
            raise StateFileError(f"{here}.event: {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        timeline.append(TimelineEvent(
            world.next_id(), kind, _get(event, "actor", str, here, "ghost"), _time(event, "created_at", here),
            label=_get(event, "label", str, here, None),
            state_reason=_get(event, "state_reason", str, here, None),
            rename_from=_get(event, "from", str, here, None), rename_to=_get(event, "to", str, here, None)))
    return timeline


def _load_project(world: World, data: dict, where: str) -> None:
    """An organisation's project: GitHub's default fields, then `fields`, then `items` with `values`
    by field name (a single select's value is an option's name)."""
    try:
        project = add_project(world, _get(data, "owner", str, where), _get(data, "title", str, where),
                              number=_get(data, "number", int, where, None))
        for i, spec in enumerate(_get(data, "fields", list, where, [])):
            here = f"{where}.fields[{i}]"
            spec = _as(spec, dict, here)
            add_field(world, project, _get(spec, "name", str, here), _get(spec, "type", str, here),
                      _get(spec, "options", list, here, None))
    except (ProjectError, KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{where}: {exc}") from exc
    for i, spec in enumerate(_get(data, "items", list, where, [])):
        here = f"{where}.items[{i}]"
        spec = _as(spec, dict, here)
        ref = _get(spec, "issue", str, here)
        full_name, _, number = ref.partition("#")
        repo = world.repo(full_name)
        issue = repo.issues.get(int(number)) if repo and number.isdigit() else None
        if issue is None:
            raise StateFileError(f"{here}.issue: no issue {ref} (give owner/name#number)")
        item = add_item(world, project, repo, issue)
        archive_item(world, item, _get(spec, "archived", bool, here, False))
        for name, value in _get(spec, "values", dict, here, {}).items():
            project_field = project.field_named(name)
            if project_field is None:
                raise StateFileError(f"{here}.values: the project has no field {name!r}")
            try:
                set_value(world, project, item, project_field, value)
            except ProjectError as exc:
                raise StateFileError(f"{here}.values[{name!r}]: {exc}") from exc


def _load_workflow_token(world: World, data: dict, where: str) -> None:
    repo = _get(data, "repository", str, where)
    if world.repo(repo) is None:
        raise StateFileError(f"{where}.repository: no repository {repo} in repositories")
    value = _get(data, "token", str, where)
    world.mint_workflow_token(repo, _permissions(data, where), value=value)


def _permissions(data: dict, where: str) -> dict[str, str]:
    perms = _get(data, "permissions", dict, where, {})
    for name, level in perms.items():
        if level not in ("read", "write", "admin"):
            raise StateFileError(f"{where}.permissions.{name}: {level!r} is not read, write or admin")
    return perms


_MISSING = object()


def _get(obj: dict, key: str, kind: type, where: str, default: Any = _MISSING) -> Any:
    if key not in obj or obj[key] is None:
        if default is _MISSING:
            raise StateFileError(f"{where}: missing {key!r}")
        return default
    return _as(obj[key], kind, f"{where}.{key}")


def _strings(obj: dict, key: str, where: str) -> list[str]:
    values = _get(obj, key, list, where, [])
    for i, value in enumerate(values):
        _as(value, str, f"{where}.{key}[{i}]")
    return values


def _as(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise StateFileError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _time(obj: dict, key: str, where: str, *, required: bool = True) -> datetime | None:
    text = _get(obj, key, str, where, _MISSING if required else None)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise StateFileError(f"{where}.{key}: {text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise StateFileError(f"{where}.{key}: {text!r} has no time zone (add Z for UTC)")
    return moment
