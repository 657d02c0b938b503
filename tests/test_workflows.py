"""The action's metadata and every workflow, shipped or shown: no expression inside a script, every
third-party action pinned to a commit, and nothing for zizmor (pedantic) or the GitHub schemas to report."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from factory_sync.github_client import LONGEST_WAIT

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "examples").glob("*.yml")])
FILES = [ACTION, *WORKFLOWS]
TOOLS = Path(sys.executable).parent  # zizmor and check-jsonschema are installed with the test tools
SHA = re.compile(r"[0-9a-f]{40}")
# How a release pins the action in the reusable workflow (scripts/release.py).
_release = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(_release)
_release.loader.exec_module(release)
PINNED = release.PINNED


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def steps(document: dict) -> Iterator[dict]:
    """Every step of a composite action or of a workflow's jobs."""
    yield from (document.get("runs") or {}).get("steps") or []
    for job in (document.get("jobs") or {}).values():
        yield from job.get("steps") or []


def uses(document: dict) -> Iterator[str]:
    """Every `uses:`: of steps, and of jobs that call a reusable workflow."""
    yield from (step["uses"] for step in steps(document) if "uses" in step)
    yield from (job["uses"] for job in (document.get("jobs") or {}).values() if "uses" in job)


def pin_policies() -> list[tuple[str, str]]:
    """zizmor.yml's unpinned-uses policies, in order: (pattern, ref-pin or hash-pin)."""
    config = yaml.safe_load((ROOT / "zizmor.yml").read_text(encoding="utf-8"))
    return list(config["rules"]["unpinned-uses"]["config"]["policies"].items())


def policy_for(action: str) -> str:
    """The policy zizmor applies: the most specific pattern that matches (exact, then globs, then *)."""
    patterns = pin_policies()
    for pattern, policy in patterns:
        if pattern == action:
            return policy
    for pattern, policy in patterns:
        if pattern != "*" and fnmatch(action, pattern):
            return policy
    return dict(patterns).get("*", "hash-pin")


def documents() -> list[tuple[str, dict]]:
    return [(name(path), yaml.safe_load(path.read_text(encoding="utf-8"))) for path in FILES]


def test_there_are_files_to_check():
    assert {name(path) for path in FILES} >= {
        "action.yml", ".github/workflows/ci.yml", ".github/workflows/factory-resync.yml",
        "examples/study-workflow.yml", "examples/factory-workflow.yml"}


@pytest.mark.parametrize(("file", "document"), documents())
def test_no_expression_inside_a_script(file, document):
    """Expressions in `run:` are expanded into the script before it runs: with `github.event.*` they
    are a script injection, and any other is one step away. Values reach scripts through `env:`."""
    scripts = [step["run"] for step in steps(document) if "run" in step]
    for script in scripts:
        assert "${{" not in script, f"{file}: {script[:200]}"
    if file == "action.yml":
        assert len(scripts) == 2


@pytest.mark.parametrize(("file", "document"), documents())
def test_third_party_actions_are_pinned_to_a_commit(file, document):
    for used in uses(document):
        assert not used.startswith("docker://") or "@sha256:" in used, used
        if used.startswith("./"):
            continue  # this repository's own file, at the same commit
        action, _, ref = used.partition("@")
        owner_repo = "/".join(action.split("/")[:2])
        if policy_for(action) == "ref-pin" or policy_for(owner_repo) == "ref-pin":
            assert owner_repo.lower() == "ohdsi/factory-sync", used  # only this action, by its release tag
            assert ref, used
        else:
            assert SHA.fullmatch(ref), f"{file}: {used} is not pinned to a commit SHA"


def test_the_reusable_workflow_runs_this_action_by_commit():
    """A caller who pins the reusable workflow by SHA must get exactly one action: the workflow runs
    it by commit SHA, with the release as a comment, as scripts/release.py writes it."""
    path = ROOT / ".github" / "workflows" / "factory-resync.yml"
    ours = [used for used in uses(yaml.safe_load(path.read_text(encoding="utf-8")))
            if used.lower().startswith("ohdsi/factory-sync@")]
    assert ours, "the reusable workflow no longer runs the action"
    assert all(SHA.fullmatch(used.partition("@")[2]) for used in ours), ours
    text = path.read_text(encoding="utf-8")
    assert len(re.findall(r"ohdsi/factory-sync@", text)) == len(PINNED.findall(text)) == len(ours), text


def test_only_this_action_may_be_used_by_tag():
    assert policy_for("ohdsi/factory-sync") == "ref-pin"
    assert policy_for("ohdsi/factory-sync/.github/workflows/factory-resync.yml") == "ref-pin"
    assert policy_for("actions/checkout") == "hash-pin"


@pytest.mark.parametrize(("file", "document"), [d for d in documents() if d[0] != "action.yml"])
def test_every_workflow_starts_from_no_permission(file, document):
    assert document.get("permissions") in ({}, {"contents": "read"}), file
    for job_name, job in document["jobs"].items():
        assert "permissions" in job or document["permissions"] == {"contents": "read"}, (file, job_name)


def action_jobs() -> list[tuple[str, str, dict]]:
    """Every job, shipped or shown, with a step that runs this action: (file, job, job)."""
    return [(file, job_name, job) for file, document in documents() if file != "action.yml"
            for job_name, job in document["jobs"].items()
            if any(step.get("uses", "").lower().startswith(("ohdsi/factory-sync@", "./"))
                   for step in job.get("steps") or [])]


def test_no_wait_for_a_rate_limit_outlives_the_job_it_holds():
    """A run ends by itself (and revokes its tokens) before the runner cancels its job: the longest
    single wait, and a minute for the set-up and the run's other work, fit in every job's timeout."""
    jobs = action_jobs()
    assert {file for file, _, _ in jobs} >= {"examples/study-workflow.yml", "examples/health-check.yml",
                                             ".github/workflows/factory-resync.yml"}
    for file, job_name, job in jobs:
        assert "timeout-minutes" in job, (file, job_name)
        assert job["timeout-minutes"] * 60 >= LONGEST_WAIT + 60, (file, job_name, job["timeout-minutes"])


def run_tool(*args: str) -> subprocess.CompletedProcess:
    tool = TOOLS / args[0]
    assert tool.exists(), f"{args[0]} is not next to {sys.executable}: pip install -r requirements-dev.txt"
    return subprocess.run([str(tool), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


def test_zizmor_pedantic_finds_nothing():
    done = run_tool("zizmor", "--offline", "--persona", "pedantic", "--format", "json", *map(name, FILES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []
    audited = re.findall(r"completed (\S+)", done.stderr)
    assert sorted(audited) == sorted(map(name, FILES))  # every file was read, none skipped


def test_the_action_matches_github_s_schema():
    done = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-actions", "action.yml")
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stdout + done.stderr


def test_the_workflows_match_github_s_schema():
    done = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(name, WORKFLOWS))
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stdout + done.stderr


def test_ci_audits_with_the_pedantic_persona():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '"$bin/zizmor" --offline --persona pedantic action.yml' in script
