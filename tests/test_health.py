"""`mode: check`, the health check, against the GitHub double: it finds what is wrong and writes nothing."""

from __future__ import annotations

from actionkit import FACTORY_REPO, STUDY_REPO, run_action, tracking_issues, writes
from factory_sync.health import Finding, Verdict, missing_grants, render
from github_double.demo_world import DEMO_INSTALLATION_ID, generate_private_key


def test_a_good_setup_is_healthy_and_nothing_is_written(github, tmp_path) -> None:
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 0, run.log
    assert run.outputs["healthy"] == "true"
    assert "health check: healthy" in run.summary
    for check in ("App sign-in", "Installation", "Permissions", "Factory access", "Study access"):
        assert f"| {check} | ✅ ok |" in run.summary
    assert "0 tracking issues" in run.summary
    assert "Protocol Development" in run.summary  # the study was read
    assert writes(github) == []
    assert tracking_issues(github) == []
    assert github.log.select("DELETE", "/installation/token", status=204)  # its token revoked
    assert [t for t in github.world.tokens.values() if t.installation_id and not t.revoked] == []


def test_in_the_factory_the_study_check_is_skipped(github, tmp_path) -> None:
    token = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    run = run_action(
        github, tmp_path, {}, event="schedule", repository=FACTORY_REPO, token=token, mode="check"
    )
    assert run.code == 0, run.log
    assert "| Study access | ⏭️ skipped |" in run.summary


def test_a_missing_permission_is_named_with_the_fix(github, tmp_path) -> None:
    github.world.installations[DEMO_INSTALLATION_ID].permissions = {"issues": "read", "metadata": "read"}
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 1
    assert run.outputs["healthy"] == "false"
    assert "lacks issues: write" in run.summary
    assert "| Factory access | ⏭️ skipped | needs Permissions |" in run.summary
    assert any("Permissions" in e for e in run.errors)


def test_a_key_of_another_app_fails_the_sign_in(github, tmp_path) -> None:
    run = run_action(
        github, tmp_path, {}, event="workflow_dispatch", mode="check", private_key=generate_private_key()
    )
    assert run.code == 1
    assert "| App sign-in | ❌ failed |" in run.summary
    assert "GitHub answered 401" in run.summary
    assert "| Installation | ⏭️ skipped |" in run.summary
    assert "Traceback" not in run.log


def test_an_unreadable_study_fails_only_that_check(github, tmp_path) -> None:
    other = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})  # cannot see the study
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check", token=other)
    assert run.code == 1
    assert "| Factory access | ✅ ok |" in run.summary
    assert "| Study access | ❌ failed |" in run.summary
    assert STUDY_REPO in run.summary


def test_missing_grants_counts_write_as_read() -> None:
    assert missing_grants({"issues": "write", "metadata": "read"}) == []
    assert missing_grants({"issues": "read"}) == ["issues: write", "metadata: read"]
    assert missing_grants({"issues": "admin", "metadata": "write"}) == []


def test_render_escapes_table_cells() -> None:
    text = render([Finding("Factory access", Verdict.FAILED, "a | b\nc")])
    assert "| Factory access | ❌ failed | a \\| b c |" in text
    assert "not healthy" in text
