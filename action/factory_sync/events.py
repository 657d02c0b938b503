"""Which study an event names, and whether it can have changed that study's stages.

In a study repository an event concerns that study (`parse_study_event`). In the Factory repository
itself, `workflow_dispatch`, `schedule` and `repository_dispatch` ask for a resync of one study or
of all of them (`parse_factory_event`). Dispatches are read by one set of rules on both sides
(`_requested`); only what an absent study means differs.

Deciding "not relevant" only saves a run; reconciling is always safe. So when a payload leaves
out a field GitHub documents as optional (an issue's labels, the label of a labeled event), the
event counts as relevant; a field of the wrong type is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from factory_sync.errors import FactorySyncError
from factory_sync.model import is_repo_name, is_stage_label
from factory_sync.stages import Catalog

DISPATCH_EVENT_TYPE = "factory-sync"  # the repository_dispatch type answered (input dispatch-event-type)

# Issue actions that matter when the issue carries a stage label: they change whether the stage
# is in progress or complete, what its issue is called, or whether the study still has the issue.
_STAGED_ACTIONS = ("closed", "reopened", "deleted", "transferred", "edited", "opened")

# How a message names a JSON value's kind: as a payload's field, and as a whole document.
_KIND_NAMES = {str: ("a string", "a string"), int: ("a number", "a number"),
               float: ("a decimal number", "a number"), list: ("a list", "an array"),
               dict: ("an object", "an object"), bool: ("true/false", "a boolean"),
               type(None): ("missing", "null")}
SHOWN_LIMIT = 60  # longest piece of payload text quoted in a notice or an error


class EventError(FactorySyncError):
    """A payload with a field missing or of the wrong type."""


@dataclass(frozen=True)
class Trigger:
    study: str | None  # owner/name of the study repository, None when the event names none
    reconcile: bool
    notice: str  # one line for the log: what the event is and what happens
    all_studies: bool = False  # a resync of every study (a run in the Factory only)
    event: str = field(default="", compare=False)  # the event's name, e.g. schedule


def json_kind(value: object, document: bool = False) -> str:
    """How a message names a value's kind: as a payload's field ("missing", "a list") or, with
    `document`, as a whole JSON document ("null", "an array")."""
    names = _KIND_NAMES.get(type(value))
    return names[document] if names else type(value).__name__


def parse_study_event(event_name: str, payload: object, repository: str | None, catalog: Catalog,
                      event_type: str = DISPATCH_EVENT_TYPE) -> Trigger:
    """The trigger for one workflow run; `repository` is GITHUB_REPOSITORY, where the workflow runs.

    Any `stage:` label counts, in the catalog or not: a label missing from it must still be reported.
    """
    _check_event_name(event_name)
    if event_name not in _HANDLERS and event_name not in _DISPATCHES:
        return Trigger(None, False, f"event {_shown(event_name)} is not one factory-sync handles (it acts "
                                    "on issues, label, workflow_dispatch and repository_dispatch); "
                                    "nothing to do", event=event_name)
    if not isinstance(payload, dict):
        raise EventError(f"{event_name} event payload is {json_kind(payload)}, expected an object")
    if event_name in _DISPATCHES:
        trigger = _dispatch(event_name, payload, event_type, every_when_unnamed=False)
        if trigger.reconcile and trigger.study is None:
            study = _repo(repository, "GITHUB_REPOSITORY")
            trigger = Trigger(study, True, f"{event_name}: resync of {study} requested")
    else:
        trigger = _HANDLERS[event_name](payload, repository, catalog)
    return _named(trigger, event_name)


def _named(trigger: Trigger, event_name: str) -> Trigger:
    return Trigger(trigger.study, trigger.reconcile, trigger.notice, trigger.all_studies, event=event_name)


def _issues(payload: dict, repository: str | None, catalog: Catalog) -> Trigger:
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


def _label(payload: dict, repository: str | None, catalog: Catalog) -> Trigger:
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


def parse_factory_event(event_name: str, payload: object, event_type: str = DISPATCH_EVENT_TYPE) -> Trigger:
    """The trigger for a run in the Factory repository: a resync of one study, or of every study.

    `event_type` is the repository_dispatch type this action answers (input `dispatch-event-type`).
    """
    _check_event_name(event_name)
    if event_name == "schedule":
        return Trigger(None, True, "schedule: resync of every study", all_studies=True, event=event_name)
    if event_name not in _DISPATCHES:
        return Trigger(None, False, f"event {_shown(event_name)} in the Factory repository does not ask "
                                    "for a resync (workflow_dispatch, schedule and repository_dispatch do); "
                                    "nothing to do", event=event_name)
    if not isinstance(payload, dict):
        raise EventError(f"{event_name} event payload is {json_kind(payload)}, expected an object")
    return _named(_dispatch(event_name, payload, event_type, every_when_unnamed=True), event_name)


_DISPATCHES = ("workflow_dispatch", "repository_dispatch")
_WANTED = 'send {"study": "owner/name"} for one study or {"all": true} for every study'


def _dispatch(event: str, payload: dict, event_type: str, every_when_unnamed: bool) -> Trigger:
    """A requested resync, by the same rules in a study repository and in the Factory: the study a
    dispatch names, or every study (`{"all": true}`; a workflow_dispatch without a study, in the
    Factory); study None when it names none and that means the repository the workflow runs in."""
    if event == "workflow_dispatch":
        requested = _at(payload, "inputs.study", str, event, optional=True)
        if requested is not None and requested.strip():
            study = _repo(requested.strip(), "workflow_dispatch input 'study'")
            return Trigger(study, True, f"workflow_dispatch: resync of {study} requested")
        if every_when_unnamed:
            return Trigger(None, True, "workflow_dispatch: resync of every study", all_studies=True)
        return Trigger(None, True, "")
    action = _at(payload, "action", str, event, optional=True)
    if action is not None and action != event_type:
        return Trigger(None, False, f"repository_dispatch of type {_shown(action)}, not {event_type!r}; "
                                    "nothing to do")
    if _at(payload, "client_payload", dict, event, optional=True) is None:
        if not every_when_unnamed:
            return Trigger(None, True, "")
        raise EventError(f"repository_dispatch payload has no client_payload: {_WANTED}")
    requested = _at(payload, "client_payload.study", str, event, optional=True)
    every = payload["client_payload"].get("all")
    if every is not None and not isinstance(every, bool):
        raise EventError(f"repository_dispatch payload: 'client_payload.all' is {json_kind(every)}, "
                         "expected true or false")
    if requested is not None and every:
        raise EventError(f"repository_dispatch client_payload names a study and asks for all; {_WANTED}")
    if every and every_when_unnamed:
        return Trigger(None, True, "repository_dispatch: resync of every study", all_studies=True)
    if requested is None or not requested.strip():
        if not every_when_unnamed:
            return Trigger(None, True, "")
        raise EventError(f"repository_dispatch client_payload names no study: {_WANTED}")
    study = _repo(requested.strip(), "repository_dispatch client_payload.study")
    return Trigger(study, True, f"repository_dispatch: resync of {study} requested")


def is_factory(repository: str | None, factory_repo: str) -> bool:
    """Whether the workflow runs in the Factory repository (names are case-insensitive)."""
    return (repository or "").lower() == factory_repo.lower()


_HANDLERS: dict[str, Callable[[dict, str | None, Catalog], Trigger]] = {"issues": _issues, "label": _label}


def _study(payload: dict, repository: str | None, event: str) -> str:
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
            raise EventError(f"{event} payload: {'.'.join(walked)!r} is {json_kind(value)}, "
                             "expected an object")
        walked.append(key)
        value = value.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise EventError(f"{event} payload: {path!r} is {json_kind(value)}, expected {_KIND_NAMES[kind][0]}")
    return value

