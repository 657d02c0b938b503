"""No credential is ever shown: not by the step's log, outputs or summary (every run of the suite is
scanned, see `actionkit.scan`), not by the sandbox demo, not by any error message, and not by the
double's request log. The private key, every token the double issued and every JWT that reached it
are looked for by value, and anything shaped like a credential by its shape."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable

import pytest

from actionkit import ACTION_DIR, STUDY_REPO, run_action, scan, secrets_of, study_event, tracking_issues
from factory_sync.app_tokens import App, InstallationTokens, MintRefused, check_private_key, parse_app_id
from factory_sync.errors import FactorySyncError
from factory_sync.factory import Factory, send_dispatch
from factory_sync.github_client import connect
from factory_sync.inputs import read_settings
from factory_sync.runner import Runner
from factory_sync.study_reader import installation_repositories, read_study
from github_double.demo_world import DEMO_INSTALLATION_ID, FACTORY_REPO, generate_private_key


def shown_by(exc: BaseException) -> dict[str, str]:
    """Every way an exception could reach a person: its message, its repr, its traceback as Python
    prints it, and each exception chained to it, even those the traceback leaves out."""
    shown = {"message": str(exc), "repr": repr(exc), "traceback": "".join(traceback.format_exception(exc))}
    chained, seen = exc, 0
    while (chained := chained.__cause__ or chained.__context__) is not None and seen < 10:
        seen += 1
        shown[f"chained {seen}"] = f"{chained!s} {chained!r}"
    return shown


def raises_cleanly(github, attempt: Callable[[], object]) -> FactorySyncError:
    with pytest.raises(FactorySyncError) as caught:
        attempt()
    assert scan(github, **shown_by(caught.value)) == []
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    return caught.value


def app(github, key: str | None = None) -> App:
    return App(github.app_id, key or github.private_key, github.url)


def factory(github, token: str) -> Factory:
    return Factory(connect(token, github.url, writes=True), FACTORY_REPO)


def revoked(github) -> str:
    token = app(github).mint(DEMO_INSTALLATION_ID, [STUDY_REPO], {"issues": "read"}).value
    app(github).revoke(token)
    return token


FAILURES: dict[str, Callable] = {  # every failure of the GitHub adapter a run can meet, from the double
    "installation not found": lambda g: app(g).installation_id("ohdsi-demo/Nowhere"),
    "JWT signed with another key": lambda g: app(g, generate_private_key()).installation_id(FACTORY_REPO),
    "permission beyond the installation": lambda g: app(g).mint(DEMO_INSTALLATION_ID, [FACTORY_REPO],
                                                                {"administration": "write"}),
    "repository beyond the installation": lambda g: app(g).mint(
        DEMO_INSTALLATION_ID, ["ohdsi-demo/Elsewhere"], {"issues": "read"}),
    "unknown installation": lambda g: app(g).mint(987654, None, {"issues": "read"}),
    "revoking a revoked token": lambda g: app(g).revoke(revoked(g)),
    "reading with a revoked token": lambda g: read_study(connect(revoked(g), g.url), STUDY_REPO),
    "reading what the token cannot see": lambda g: read_study(
        connect(g.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"}), g.url), STUDY_REPO),
    "reading without issues permission": lambda g: read_study(
        connect(g.world.mint_workflow_token(STUDY_REPO, {"contents": "read"}), g.url), STUDY_REPO),
    "a missing tracking issue": lambda g: factory(g, g.world.mint_workflow_token(FACTORY_REPO)).issue(999),
    "writing with a read-only token": lambda g: factory(
        g, g.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})).create("Study: x/y", "", []),
    "a title GitHub refuses": lambda g: factory(g, g.world.mint_workflow_token(FACTORY_REPO)).create(
        "T" * 300, "", []),
    "a body GitHub refuses": lambda g: factory(g, g.world.mint_workflow_token(FACTORY_REPO)).update(
        g.world.create_issue(g.world.repo(FACTORY_REPO), "x", "", "x").number, "b" * 70_000, []),
    "dispatching without contents: write": lambda g: send_dispatch(
        connect(g.world.mint_workflow_token(FACTORY_REPO, {"issues": "write"}), g.url), FACTORY_REPO,
        "factory-sync", {"study": STUDY_REPO}),
    "listing repositories with a revoked token": lambda g: installation_repositories(
        connect(revoked(g), g.url)),
    "a token given as the private key": lambda g: check_private_key(g.world.mint_workflow_token(STUDY_REPO)),
    "the private key given as the app id": lambda g: parse_app_id(g.private_key),
    "settings with a token for a key": lambda g: read_settings(Runner({
        "INPUT_APP_ID": "1", "INPUT_PRIVATE_KEY": g.world.mint_workflow_token(STUDY_REPO),
        "INPUT_FACTORY_REPO": FACTORY_REPO, "INPUT_TOKEN": g.world.mint_workflow_token(STUDY_REPO)})),
    "settings with the key for an app id": lambda g: read_settings(Runner({
        "INPUT_APP_ID": g.private_key, "INPUT_PRIVATE_KEY": g.private_key, "INPUT_FACTORY_REPO": FACTORY_REPO,
        "INPUT_TOKEN": g.world.mint_workflow_token(STUDY_REPO)})),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_no_error_message_carries_a_credential(github, failure):
    error = raises_cleanly(github, lambda: FAILURES[failure](github))
    assert secrets_of(github)  # there was something to find
    if "beyond the installation" in failure:
        assert isinstance(error, MintRefused)


def test_a_token_that_cannot_be_revoked_is_reported_without_it(github):
    warned: list[str] = []
    tokens = InstallationTokens(app(github), DEMO_INSTALLATION_ID, lambda token: None, warned.append)
    with tokens:
        client = tokens.client([FACTORY_REPO], {"issues": "write"}, writes=True)
        Factory(client, FACTORY_REPO).tracking_issues("study-tracking")
        for token in github.world.tokens.values():
            token.revoked = True  # someone revoked it first
    [warning] = warned
    assert "Revoking the installation token failed: GitHub answered 401" in warning
    assert scan(github, warning=warning) == []


def test_the_request_log_shows_no_credential(github, tmp_path):
    issue = github.world.repo(STUDY_REPO).issues[2]
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:protocol-development"))
    assert run.code == 0, run.log
    entries = github.log.entries()
    assert {e.principal.split(":")[0] for e in entries} >= {"jwt", "installation", "workflow"}
    assert all(e.request_headers.get("Authorization") for e in entries)  # credentials were sent
    assert scan(github, log=repr(entries), entries="\n".join(map(str, entries)),
                last=repr(github.log.last())) == []


@pytest.mark.parametrize("env", [
    {"GITHUB_ACTIONS": "false"},  # run by hand: no ::add-mask:: to hide anything behind
    {"RUNNER_DEBUG": "1", "ACTIONS_STEP_DEBUG": "true"},  # debug logging on
])
def test_runs_by_hand_or_with_debug_logging_show_no_credential(github, tmp_path, env):
    """Every run of the suite is scanned; these make sure the runs that print most are among them."""
    issue = github.world.repo(STUDY_REPO).issues[2]
    event = study_event("labeled", issue, label="stage:protocol-development")
    done = run_action(github, tmp_path, event, env=env, dry_run="true")
    assert done.code == 0, done.log
    github.faults.add("500", method="POST", path=f"/repos/{FACTORY_REPO}/issues", times=None)
    failed = run_action(github, tmp_path, event, env=env)
    assert failed.code == 1 and tracking_issues(github) == []
    if env.get("GITHUB_ACTIONS") == "false":
        assert "::add-mask::" not in done.stdout + failed.stdout


def test_the_sandbox_demo_shows_no_credential():
    """`python -m factory_sync sandbox demo` makes its own key and tokens, which this process cannot
    know: its output is scanned for anything shaped like a credential."""
    done = subprocess.run([sys.executable, "-m", "factory_sync", "sandbox", "demo"], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ACTION_DIR)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "x ::add-mask::, which the runner takes in and never shows" in done.stdout  # masks were sent
    assert "-> exit 0" in done.stdout
    assert scan(None, stdout=done.stdout, stderr=done.stderr) == []
