"""Which study an event names, and whether it can have changed that study's stages.

In a study repository an event concerns that study (`parse_event`). In the Factory repository
itself, `workflow_dispatch`, `schedule` and `repository_dispatch` ask for a resync of one study or
of all of them (`parse_factory_event`).

Deciding "not relevant" only saves a run; reconciling is always safe. So when a payload leaves
out a field GitHub documents as optional (an issue's labels, the label of a labeled event), the
event counts as relevant; a field of the wrong type is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factory_sync.errors import FactorySyncError
from factory_sync.stage import Catalog, is_stage_label

_REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NAME_LIMIT = 100  # GitHub's longest repository name; account names are shorter

# Issue actions that matter when the issue carries a stage label: they change whether the stage
# is in progress or complete, what its issue is called, or whether the study still has the issue.
_STAGED_ACTIONS = ("closed", "reopened", "deleted", "transferred", "edited", "opened")

_KIND_NAMES = {str: "a string", int: "a number", float: "a decimal number", list: "a list", dict: "an object"}
SHOWN_LIMIT = 60  # longest piece of payload text quoted in a notice or an error


class EventError(FactorySyncError):
    """A payload with a field missing or of the wrong type."""


@dataclass(frozen=True)
class Trigger:
    study: str | None  # owner/name of the study repository, None when the event names none
    reconcile: bool
    notice: str  # one line for the log: what the event is and what happens
    all_studies: bool = False  # a resync of every study (a run in the Factory only)


def is_repo_name(text: str) -> bool:
    """owner/name as GitHub spells repositories (each part at most 100 characters)."""
    return (bool(_REPO_NAME.fullmatch(text))
            and not any(part in (".", "..") or len(part) > _NAME_LIMIT for part in text.split("/")))


def parse_event(event_name: str, payload: object, repository: str, catalog: Catalog) -> Trigger:
    """The trigger for one workflow run; `repository` is GITHUB_REPOSITORY, where the workflow runs.

    Any `stage:` label counts, in the catalog or not: a label missing from it must still be reported.
    """
    _check_event_name(event_name)
    handler = _HANDLERS.get(event_name)
    if handler is None:
        return Trigger(None, False, f"event {_shown(event_name)} is not one factory-sync handles (it acts "
                                    "on issues, label, workflow_dispatch and repository_dispatch); "
                                    "nothing to do")
    if not isinstance(payload, dict):
        raise EventError(f"{event_name} event payload is {_kind(payload)}, expected an object")
    return handler(payload, repository, catalog)


def _issues(payload: dict, repository: str, catalog: Catalog) -> Trigger:
    action = _at(payload, "action", str, "issues")
    study = _study(payload, repository, "issues")
    number = _at(payload, "issue.number", int, "issues")
    if action in ("labeled", "unlabeled"):
        if _at(payload, "label", dict, "issues", optional=True) is None:
            return Trigger(study, True, f"{study}#{number} {action}, label not in the payload; reconciling")
        label = _at(payload, "label.name", str, "issues")
        if not is_stage_label(label):
            return Trigger(study, False, f"label {_shown(label)} is not a stage label; nothing to do")
        unknown = "" if catalog.find(label) else ", which is not in the stage catalog"
        return Trigger(study, True, f"{study}#{number} {action} {_shown(label)}{unknown}")
    if action not in _STAGED_ACTIONS:
        return Trigger(study, False, f"issues.{_plain(action)} does not change stages; nothing to do")
    if action == "opened" and _at(payload, "changes.old_issue", dict, "issues", optional=True) is None:
        # Labels given at creation arrive as their own labeled events; only a transfer brings them in.
        return Trigger(study, False, "issues.opened: stage labels arrive as labeled events; nothing to do")
    labels = _issue_labels(payload)
    if labels is None:
        return Trigger(study, True, f"{study}#{number} {action}, labels not in the payload; reconciling")
    stage_labels = [name for name in labels if is_stage_label(name)]
    if not stage_labels:
        return Trigger(study, False, f"{study}#{number} carries no stage label; nothing to do")
    changes = _at(payload, "changes", dict, "issues", optional=True)
    if action == "edited" and changes is not None and "title" not in changes:
        return Trigger(study, False, f"{study}#{number}: its title did not change; nothing to do")
    return Trigger(study, True, f"{study}#{number} {action}, carrying {_listed(stage_labels)}")


def _label(payload: dict, repository: str, catalog: Catalog) -> Trigger:
    """A renamed or deleted stage label changes the study's issues without any issues event."""
    action = _at(payload, "action", str, "label")
    study = _study(payload, repository, "label")
    name = _at(payload, "label.name", str, "label")
    old_name = _at(payload, "changes.name.from", str, "label", optional=True)
    if action == "deleted" and is_stage_label(name):
        return Trigger(study, True, f"stage label {_shown(name)} deleted in {study}")
    if action == "edited" and old_name is not None and (is_stage_label(old_name) or is_stage_label(name)):
        return Trigger(study, True, f"label {_shown(old_name)} renamed to {_shown(name)} in {study}")
    return Trigger(study, False,
                   f"label.{_plain(action)} of {_shown(name)} does not change stages; nothing to do")


def _workflow_dispatch(payload: dict, repository: str, catalog: Catalog) -> Trigger:
    requested = _at(payload, "inputs.study", str, "workflow_dispatch", optional=True)
    return _dispatch("workflow_dispatch", "input 'study'", requested, repository)


def _repository_dispatch(payload: dict, repository: str, catalog: Catalog) -> Trigger:
    requested = _at(payload, "client_payload.study", str, "repository_dispatch", optional=True)
    return _dispatch("repository_dispatch", "client_payload.study", requested, repository)


def _dispatch(event: str, field: str, requested: str | None, repository: str) -> Trigger:
    """A requested resync: of the study it names, else of the repository the workflow runs in."""
    if requested is not None and requested.strip():
        study = _repo(requested.strip(), f"{event} {field}")
    else:
        study = _repo(repository, "GITHUB_REPOSITORY")
    return Trigger(study, True, f"{event}: resync of {study} requested")


def parse_factory_event(event_name: str, payload: object, event_type: str) -> Trigger:
    """The trigger for a run in the Factory repository: a resync of one study, or of every study.

    `event_type` is the repository_dispatch type this action answers (input `dispatch-event-type`).
    """
    _check_event_name(event_name)
    if event_name == "schedule":
        return Trigger(None, True, "schedule: resync of every study", all_studies=True)
    if event_name not in ("workflow_dispatch", "repository_dispatch"):
        return Trigger(None, False, f"event {_shown(event_name)} in the Factory repository does not ask "
                                    "for a resync (workflow_dispatch, schedule and repository_dispatch do); "
                                    "nothing to do")
    if not isinstance(payload, dict):
        raise EventError(f"{event_name} event payload is {_kind(payload)}, expected an object")
    if event_name == "workflow_dispatch":
        requested = _at(payload, "inputs.study", str, event_name, optional=True)
        if requested is None or not requested.strip():
            return Trigger(None, True, "workflow_dispatch: resync of every study", all_studies=True)
        study = _repo(requested.strip(), "workflow_dispatch input 'study'")
        return Trigger(study, True, f"workflow_dispatch: resync of {study} requested")
    action = _at(payload, "action", str, event_name, optional=True)
    if action is not None and action != event_type:
        return Trigger(None, False, f"repository_dispatch of type {_shown(action)}, not {event_type!r}; "
                                    "nothing to do")
    wanted = 'send {"study": "owner/name"} for one study or {"all": true} for every study'
    if _at(payload, "client_payload", dict, event_name, optional=True) is None:
        raise EventError(f"repository_dispatch payload has no client_payload: {wanted}")
    requested = _at(payload, "client_payload.study", str, event_name, optional=True)
    every = payload["client_payload"].get("all")
    if every is not None and not isinstance(every, bool):
        raise EventError(f"repository_dispatch payload: 'client_payload.all' is {_kind(every)}, "
                         "expected true or false")
    if requested is not None and every:
        raise EventError(f"repository_dispatch client_payload names a study and asks for all; {wanted}")
    if every:
        return Trigger(None, True, "repository_dispatch: resync of every study", all_studies=True)
    if requested is None:
        raise EventError(f"repository_dispatch client_payload names no study: {wanted}")
    study = _repo(requested.strip(), "repository_dispatch client_payload.study")
    return Trigger(study, True, f"repository_dispatch: resync of {study} requested")


def is_factory(repository: str | None, factory_repo: str) -> bool:
    """Whether the workflow runs in the Factory repository (names are case-insensitive)."""
    return (repository or "").lower() == factory_repo.lower()


_HANDLERS: dict[str, Callable[[dict, str, Catalog], Trigger]] = {
    "issues": _issues,
    "label": _label,
    "workflow_dispatch": _workflow_dispatch,
    "repository_dispatch": _repository_dispatch,
}


def _study(payload: dict, repository: str, event: str) -> str:
    if payload.get("repository") is None:
        return _repo(repository, "GITHUB_REPOSITORY")
    return _repo(_at(payload, "repository.full_name", str, event), f"{event} payload 'repository.full_name'")


def _repo(value: str | None, where: str) -> str:
    if value is None:
        raise EventError(f"{where} is not set; expected owner/name")
    if not is_repo_name(value):
        raise EventError(f"{where} is {_shown(value)}; expected owner/name")
    return value


def _check_event_name(event_name: str) -> None:
    if not event_name:
        raise EventError("GITHUB_EVENT_NAME is not set: run the action in a workflow job, or set it to the "
                         "event's name (e.g. workflow_dispatch) when running it by hand")


def _shown(text: str) -> str:
    """Payload text quoted for a notice or an error: on one line, and at most SHOWN_LIMIT characters."""
    if len(text) > SHOWN_LIMIT:
        text = text[: SHOWN_LIMIT - 1] + "…"
    return repr(text)


def _plain(text: str) -> str:
    """Payload text that is usually a plain word (an action), shown as is when it is one."""
    return text if text.isprintable() and len(text) <= SHOWN_LIMIT else _shown(text)


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(_plain(name) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _issue_labels(payload: dict) -> list[str] | None:
    """The issue's label names; None when the payload leaves them out."""
    labels = _at(payload, "issue.labels", list, "issues", optional=True)
    if labels is None:
        return None
    names = []
    for index, label in enumerate(labels):
        if not isinstance(label, dict) or not isinstance(label.get("name"), str):
            raise EventError(f"issues payload: 'issue.labels[{index}]' has no name; expected {{'name': ...}}")
        names.append(label["name"])
    return names


def _at(payload: dict, path: str, kind: type, event: str, optional: bool = False) -> Any:
    """The value at a dotted path, of the given type; None for a missing optional value."""
    value: object = payload
    walked: list[str] = []
    for key in path.split("."):
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise EventError(f"{event} payload: {'.'.join(walked)!r} is {_kind(value)}, expected an object")
        walked.append(key)
        value = value.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise EventError(f"{event} payload: {path!r} is {_kind(value)}, expected {_KIND_NAMES[kind]}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true/false"
    return _KIND_NAMES.get(type(value), type(value).__name__)
