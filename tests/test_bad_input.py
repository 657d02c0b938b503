"""Every webhook payload GitHub documents, and malformed or hostile event files, fed to the action step.

Each run ends one of two ways: exit 0 with a notice that says what happened, or exit 1 with one
`::error::` that says what is wrong; never an exception or a traceback. Runs are made in this process
(`stepkit.run_step`, where an exception would fail the test), and a sample again as the runner makes
them, in a child process, whose standard error must stay empty. Each payload counts as an input tried.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import reliability
from actionkit import WEBHOOKS, run_action, study_event, webhook_examples
from github_double.demo_world import FACTORY_REPO, STUDY_REPO
from stepkit import Run, run_step

EVENTS = sorted(path.stem for path in WEBHOOKS.glob("*.json"))
# Where each event means something: in a study repository, and in the Factory repository.
IN_A_STUDY = {"issues", "label", "workflow_dispatch", "repository_dispatch"}
IN_THE_FACTORY = {"workflow_dispatch", "repository_dispatch", "schedule"}
COMMANDS = ("::notice", "::warning", "::group::", "::endgroup::", "::debug::", "::add-mask::")
LONGEST_LINE = 2_000  # no log line may carry a huge payload's text


def check_clean(run: Run) -> None:
    """The log holds only the commands the step means to send, each on one line of a sane length."""
    for line in run.stdout.splitlines():
        assert len(line) <= LONGEST_LINE, line[:200]
        if line.startswith("::"):
            assert line.startswith((*COMMANDS, "::error")), line
    assert "Traceback" not in run.stdout


def done_with_a_notice(run: Run) -> list[str]:
    """Exit 0, no error, at least one notice; returns the notices."""
    check_clean(run)
    assert run.code == 0, run.errors
    assert run.errors == []
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert notices, run.stdout
    return notices


def failed_clearly(run: Run, says: str) -> str:
    """Exit 1 with exactly one error annotation, which says `says`; returns it."""
    check_clean(run)
    assert run.code == 1, run.stdout
    [error] = run.errors
    assert says in error, error
    return error


def step(github, tmp_path: Path, event: str, payload: dict | None = None, *, repository: str = STUDY_REPO,
         raw: bytes | None = None) -> Run:
    reliability.count("inputs tried")
    return run_step(github, tmp_path / "run", event, payload, repository=repository, raw_event=raw)


def test_every_event_type_github_documents_is_vendored():
    assert len(EVENTS) == 58
    assert {"issues", "label", "workflow_dispatch", "repository_dispatch", "ping", "star"} <= set(EVENTS)


# -- every example of every event ---------------------------------------------------------------------

@pytest.mark.parametrize("event", EVENTS)
def test_every_example_in_a_study_repository(github, tmp_path, event):
    for payload in webhook_examples(event):
        github.log.clear()
        notices = done_with_a_notice(step(github, tmp_path, event, payload))
        if event not in IN_A_STUDY:
            assert notices == [f"::notice::event '{event}' is not one factory-sync handles (it acts on "
                               "issues, label, workflow_dispatch and repository_dispatch); nothing to do"]
        if event == "workflow_dispatch":  # a resync of this study, asked by hand
            assert github.log.count("POST", "/graphql") == 1
            assert notices[-1].startswith(f"::notice::{STUDY_REPO}: ")
        else:  # GitHub's examples name no stage label (nor this action's dispatch type): nothing to do
            assert len(github.log) == 0, (event, payload.get("action"))
            assert notices[-1].endswith("nothing to do")


@pytest.mark.parametrize("event", EVENTS)
def test_every_example_in_the_factory(github, tmp_path, event):
    for payload in webhook_examples(event):
        github.log.clear()
        notices = done_with_a_notice(step(github, tmp_path, event, payload, repository=FACTORY_REPO))
        if event == "workflow_dispatch":  # no study named: every study, and the Factory tracks none yet
            assert any("nothing to resync" in notice for notice in notices)
        else:
            assert len(github.log) == 0, (event, payload.get("action"))
            assert notices[-1].endswith("nothing to do")
            if event not in IN_THE_FACTORY:
                assert notices == [f"::notice::event '{event}' in the Factory repository does not ask for a "
                                   "resync (workflow_dispatch, schedule and repository_dispatch do); "
                                   "nothing to do"]


# -- event files that are not events --------------------------------------------------------------------

def nested(depth: int) -> bytes:
    return b'{"action": "created", "x": ' + b"[" * depth + b"]" * depth + b"}"


NOT_EVENTS = [
    ("empty file", b"", "The event payload file is empty"),
    ("blank file", b" \n\t\n", "The event payload file is empty"),
    ("not JSON", b"action=labeled", "is not valid JSON: Expecting value: line 1 column 1"),
    ("cut short", b'{"action": "labeled", "issue": {"number": 1', "is not valid JSON"),
    ("two objects", b'{"action": "labeled"}{"action": "closed"}', "is not valid JSON: Extra data"),
    ("an array", b'[{"action": "labeled"}]', "is not a JSON object but an array"),
    ("a string", b'"labeled"', "is not a JSON object but a string"),
    ("a number", b"12", "is not a JSON object but a number"),
    ("null", b"null", "is not a JSON object but null"),
    ("UTF-16", '{"action": "labeled"}'.encode("utf-16"), "Cannot read the event payload"),
    ("Latin-1", '{"action": "créé"}'.encode("latin-1"), "Cannot read the event payload"),
    ("nested too deeply", nested(200_000), "nests arrays or objects too deeply to read"),
    ("a 5,000-digit number", b'{"action": "labeled", "issue": {"number": ' + b"9" * 5000 + b"}}",
     "holds a number with too many digits to read"),
    ("over 25 MB", b'{"action": "created", "x": "' + b"x" * (25 * 2**20) + b'"}', "is larger than 25 MB"),
]


@pytest.mark.parametrize(("event", "repository"), [
    ("issues", STUDY_REPO), ("label", STUDY_REPO), ("workflow_dispatch", STUDY_REPO), ("star", STUDY_REPO),
    ("workflow_dispatch", FACTORY_REPO), ("repository_dispatch", FACTORY_REPO), ("schedule", FACTORY_REPO),
])
def test_an_event_file_that_is_not_an_event_is_a_clear_error(github, tmp_path, event, repository):
    for name, raw, says in NOT_EVENTS:
        run = step(github, tmp_path, event, raw=raw, repository=repository)
        error = failed_clearly(run, says)
        assert "(GITHUB_EVENT_PATH)" in error, name
        assert len(github.log) == 0, name


def test_a_byte_order_mark_is_read_past(github, tmp_path):
    raw = b"\xef\xbb\xbf" + json.dumps(webhook_examples("star")[0]).encode()
    done_with_a_notice(step(github, tmp_path, "star", raw=raw))


def test_nesting_as_deep_as_json_allows_is_read(github, tmp_path):
    done_with_a_notice(step(github, tmp_path, "issues", raw=nested(500)[:-1] + b', "issue": {"number": 1}}'))


# -- events with fields missing, renamed or of the wrong type -------------------------------------------

def labeled(github, label: str = "stage:protocol-development") -> dict:
    return study_event("labeled", github.world.repo(STUDY_REPO).issues[2], label=label)


def closed(github) -> dict:
    return study_event("closed", github.world.repo(STUDY_REPO).issues[1])


def changed(payload: dict, path: str, value: object = ..., rename: str | None = None) -> dict:
    """The payload with the field at the dotted path removed (no value), replaced, or renamed."""
    damaged = copy.deepcopy(payload)
    *parents, key = path.split(".")
    target = damaged
    for parent in parents:
        target = target[parent]
    if rename is not None:
        target[rename] = target.pop(key)
    elif value is ...:
        del target[key]
    else:
        target[key] = value
    return damaged


S, F = STUDY_REPO, FACTORY_REPO
MALFORMED = [  # (event, where, payload from the demo world, what the error says)
    ("issues", S, lambda g: changed(labeled(g), "action"), "'action' is missing, expected a string"),
    ("issues", S, lambda g: changed(labeled(g), "action", rename="type"), "'action' is missing"),
    ("issues", S, lambda g: changed(labeled(g), "action", ["labeled"]), "'action' is a list"),
    ("issues", S, lambda g: changed(labeled(g), "issue"), "'issue' is missing, expected an object"),
    ("issues", S, lambda g: changed(labeled(g), "issue", rename="pull_request"), "'issue' is missing"),
    ("issues", S, lambda g: changed(labeled(g), "issue.number", "2"),
     "'issue.number' is a string, expected a number"),
    ("issues", S, lambda g: changed(labeled(g), "issue.number", 2.5),
     "'issue.number' is a decimal number, expected a number"),
    ("issues", S, lambda g: changed(labeled(g), "issue.number", True), "'issue.number' is true/false"),
    ("issues", S, lambda g: changed(labeled(g), "label.name", 42),
     "'label.name' is a number, expected a string"),
    ("issues", S, lambda g: changed(labeled(g), "label", "stage:protocol-development"),
     "'label' is a string, expected an object"),
    ("issues", S, lambda g: changed(labeled(g), "label.name", rename="title"), "'label.name' is missing"),
    ("issues", S, lambda g: changed(closed(g), "issue.labels", "stage:base-camp"),
     "'issue.labels' is a string, expected a list"),
    ("issues", S, lambda g: changed(closed(g), "issue.labels", {"name": "stage:base-camp"}),
     "'issue.labels' is an object, expected a list"),
    ("issues", S, lambda g: changed(closed(g), "issue.labels", [7]), "'issue.labels[0]' has no name"),
    ("issues", S, lambda g: changed(closed(g), "issue.labels", [{"name": None}]),
     "'issue.labels[0]' has no name"),
    ("issues", S, lambda g: changed(closed(g), "repository", STUDY_REPO),
     "'repository' is a string, expected an object"),
    ("issues", S, lambda g: changed(closed(g), "repository.full_name", 5),
     "'repository.full_name' is a number"),
    ("issues", S, lambda g: changed(closed(g), "repository.full_name", "ohdsi-demo/../Factory"),
     "payload 'repository.full_name' is 'ohdsi-demo/../Factory'; expected owner/name"),
    ("issues", S, lambda g: changed(closed(g), "repository.full_name", "x/" + "y" * 100_000),
     "payload 'repository.full_name' is 'x/yyyy"),
    ("issues", S, lambda g: changed(closed(g), "changes", ["title"]), "'changes' is a list"),
    ("label", S, lambda g: {"action": "deleted", "label": "stage:base-camp"}, "'label' is a string"),
    ("label", S, lambda g: {"action": "edited", "label": {"name": "stage:a"}, "changes": {"name": "x"}},
     "'changes.name' is a string, expected an object"),
    ("workflow_dispatch", S, lambda g: {"inputs": {"study": 7}}, "'inputs.study' is a number"),
    ("workflow_dispatch", S, lambda g: {"inputs": [STUDY_REPO]}, "'inputs' is a list"),
    ("workflow_dispatch", S, lambda g: {"inputs": {"study": "https://github.com/ohdsi-demo/x"}},
     "input 'study' is 'https://github.com/ohdsi-demo/x'; expected owner/name"),
    ("repository_dispatch", S, lambda g: {"client_payload": {"study": ["a/b"]}},
     "'client_payload.study' is a list"),
    ("workflow_dispatch", F, lambda g: {"inputs": {"study": "a b/c"}},
     "workflow_dispatch input 'study' is 'a b/c'; expected owner/name"),
    ("workflow_dispatch", F, lambda g: {"inputs": "all"}, "'inputs' is a string"),
    ("repository_dispatch", F, lambda g: {"action": "factory-sync"}, "has no client_payload"),
    ("repository_dispatch", F, lambda g: {"action": "factory-sync", "client_payload": [STUDY_REPO]},
     "'client_payload' is a list"),
    ("repository_dispatch", F, lambda g: {"action": "factory-sync", "client_payload": {"all": "yes"}},
     "'client_payload.all' is a string, expected true or false"),
    ("repository_dispatch", F,
     lambda g: {"action": "factory-sync", "client_payload": {"all": True, "study": STUDY_REPO}},
     "names a study and asks for all"),
    ("repository_dispatch", F, lambda g: {"action": "factory-sync", "client_payload": {"repo": "a/b"}},
     "client_payload names no study"),
    ("repository_dispatch", F, lambda g: {"action": 3, "client_payload": {}}, "'action' is a number"),
]


@pytest.mark.parametrize(("event", "repository", "make", "says"), MALFORMED,
                         ids=[f"{case[0]}-{n}" for n, case in enumerate(MALFORMED)])
def test_a_malformed_event_is_a_clear_error_before_any_request(github, tmp_path, event, repository, make,
                                                               says):
    error = failed_clearly(step(github, tmp_path, event, make(github), repository=repository), says)
    assert len(error) < 500
    assert len(github.log) == 0


TOLERATED = [  # (what, event, payload): optional fields left out, renamed or null: reconciled, to be safe
    ("no label in a labeled event", "issues", lambda g: changed(labeled(g), "label")),
    ("a null label", "issues", lambda g: changed(labeled(g), "label", None)),
    ("labels renamed", "issues", lambda g: changed(closed(g), "issue.labels", rename="label_names")),
    ("no repository", "issues", lambda g: changed(closed(g), "repository")),
    ("no inputs", "workflow_dispatch", lambda g: {}),
    ("null client_payload", "repository_dispatch", lambda g: {"client_payload": None}),
]


@pytest.mark.parametrize(("what", "event", "make"), TOLERATED, ids=[case[0] for case in TOLERATED])
def test_a_payload_without_an_optional_field_reconciles_the_study(github, tmp_path, what, event, make):
    run = step(github, tmp_path, event, make(github))
    notices = done_with_a_notice(run)
    assert notices[-1].startswith(f"::notice::{STUDY_REPO}: created")  # the demo Factory tracks none yet
    assert run.outputs["stage"] == "stage:protocol-development"


# -- hostile and huge payloads --------------------------------------------------------------------------

HUGE = 10 * 2**20


def test_huge_payloads_are_read_and_their_text_kept_out_of_the_log(github, tmp_path):
    junk = labeled(github, label="question")
    junk["sender"]["bio"] = "x" * HUGE  # 10 MB nobody reads
    notices = done_with_a_notice(step(github, tmp_path, "issues", junk))
    assert notices == ["::notice::label 'question' is not a stage label; nothing to do"]

    title = closed(github)
    title["issue"]["title"] = "T" * HUGE
    assert done_with_a_notice(step(github, tmp_path, "issues", title))[-1].startswith(f"::notice::{S}")

    label = labeled(github, label="stage:" + "L" * HUGE)  # GitHub allows 50 characters
    assert done_with_a_notice(step(github, tmp_path, "issues", label))[-1].startswith(f"::notice::{S}")

    other = labeled(github, label="L" * HUGE)
    [notice] = done_with_a_notice(step(github, tmp_path, "issues", other))
    assert notice == "::notice::label '" + "L" * 59 + "…' is not a stage label; nothing to do"

    action = labeled(github)
    action["action"] = "\n::error::injected " + "a" * HUGE
    [notice] = done_with_a_notice(step(github, tmp_path, "issues", action))
    assert notice.startswith("::notice::issues.'\\n::error::injected aaa")
    assert notice.endswith("…' does not change stages; nothing to do")


@pytest.mark.parametrize("text", [
    "\ud800", "stage:\udfff", "\x00", "\u202e\u2066", "%0A::error::x", "line\r\nbreak", "::warning::x",
    "##[error]x",
])
def test_hostile_strings_in_a_payload_stay_inert(github, tmp_path, text):
    [notice] = done_with_a_notice(step(github, tmp_path, "issues", labeled(github, label="x" + text)))
    assert notice.startswith("::notice::label 'x")
    assert "\n" not in notice and "\r" not in notice
    dispatch = {"inputs": {"study": text}}
    failed_clearly(step(github, tmp_path, "workflow_dispatch", dispatch), "input 'study' is '")


@pytest.mark.parametrize("name", ["star\n::error::injected", "::error::x", "issues ", "ISSUES", "ping" * 100])
def test_odd_event_names_are_events_factory_sync_does_not_handle(github, tmp_path, name):
    [notice] = done_with_a_notice(step(github, tmp_path, name, labeled(github)))
    assert "is not one factory-sync handles" in notice
    assert len(notice) < 400
    assert len(github.log) == 0


def test_no_event_name_is_a_clear_error(github, tmp_path):
    failed_clearly(step(github, tmp_path, "", labeled(github)), "GITHUB_EVENT_NAME is not set")
    failed_clearly(step(github, tmp_path, "", {}, repository=FACTORY_REPO), "GITHUB_EVENT_NAME is not set")


# -- as the runner runs it: a child process ---------------------------------------------------------

def test_a_sample_as_the_runner_runs_it(github, tmp_path):
    cases = [  # (event, repository, raw event file, extra variables, exit code, what the log says)
        ("ping", STUDY_REPO, json.dumps(webhook_examples("ping")[0]).encode(), {}, 0,
         "::notice::event 'ping' is not one factory-sync handles"),
        ("star", FACTORY_REPO, json.dumps(webhook_examples("star")[0]).encode(), {}, 0,
         "::notice::event 'star' in the Factory repository does not ask for a resync"),
        ("issues", STUDY_REPO, nested(200_000), {}, 1, "nests arrays or objects too deeply"),
        ("issues", STUDY_REPO, b"\xff\xfe\x00", {}, 1, "Cannot read the event payload"),
        ("issues", STUDY_REPO, b'{"action": "labeled", "issue": {"number": ' + b"9" * 5000 + b"}}", {}, 1,
         "holds a number with too many digits"),
        ("issues", STUDY_REPO, b'{"action": "labeled", "label": {"name": "stage:\\ud800"}, "issue": '
         b'{"number": 1}}', {"PYTHONIOENCODING": "ascii"}, 0, "::notice::ohdsi-demo/DemoStudy: "),
        ("issues", STUDY_REPO, b"{}", {"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}, 1,
         "The event payload file does not exist"),
        ("issues", STUDY_REPO, b"{}", {"GITHUB_EVENT_NAME": ""}, 1, "GITHUB_EVENT_NAME is not set"),
        ("workflow_dispatch", STUDY_REPO, b"{}", {"GITHUB_REPOSITORY": ""}, 1,
         "GITHUB_REPOSITORY is not set; expected owner/name"),
    ]
    for event, repository, raw, env, code, says in cases:
        reliability.count("inputs tried")
        token = github.world.mint_workflow_token(repository, {"issues": "read", "contents": "read"})
        run = run_action(github, tmp_path, None, event=event, repository=repository, token=token, env=env,
                         raw_event=raw)
        assert (run.code, run.stderr) == (code, ""), (event, run.stdout, run.stderr)
        assert says in run.stdout, run.stdout
        assert len(run.errors) == code
