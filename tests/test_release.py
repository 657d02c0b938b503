"""scripts/release.py on a temporary repository: the release commit pins the reusable workflow's
action to its parent, the tags land on it, and nothing happens on a dry run or a refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "release.py"
WORKFLOW = ".github/workflows/factory-resync.yml"
IDENTITY = {"GIT_AUTHOR_NAME": "Release Test", "GIT_AUTHOR_EMAIL": "release@example.invalid",
            "GIT_COMMITTER_NAME": "Release Test", "GIT_COMMITTER_EMAIL": "release@example.invalid",
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=IDENTITY, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def release(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--repo", str(repo), *args], env=IDENTITY,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with this checkout's action.yml and reusable workflow, on main, with a bare
    remote `origin`."""
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], env=IDENTITY, check=True)
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / WORKFLOW).write_text((ROOT / WORKFLOW).read_text(encoding="utf-8"), encoding="utf-8")
    (work / "action.yml").write_text((ROOT / "action.yml").read_text(encoding="utf-8"), encoding="utf-8")
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "The action")
    return work


def refs(repo: Path) -> str:
    return git(repo, "show-ref", "--head")


def pinned_lines(repo: Path, ref: str) -> list[str]:
    text = git(repo, "show", f"{ref}:{WORKFLOW}")
    return [line.strip() for line in text.splitlines() if "ohdsi/factory-sync@" in line]


def test_the_release_commit_pins_its_parent_and_carries_both_tags(repo):
    action = git(repo, "rev-parse", "HEAD")
    done = release(repo, "v1.2.3")
    assert done.returncode == 0, done.stderr
    head = git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", "HEAD~1") == action
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD").splitlines() == [WORKFLOW]
    assert pinned_lines(repo, "HEAD") == [f"uses: ohdsi/factory-sync@{action} # v1.2.3"]
    assert git(repo, "rev-parse", "v1.2.3^{commit}") == git(repo, "rev-parse", "v1^{commit}") == head
    assert git(repo, "log", "-1", "--format=%s") == "Release v1.2.3"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "ls-remote", "origin") == ""  # nothing pushed without --push
    assert f"v1.2.3 is {head}; its workflow runs the action at {action}" in done.stdout


def test_the_next_release_moves_the_major_tag(repo):
    assert release(repo, "v1.2.3").returncode == 0
    (repo / "action.yml").write_text("# changed\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "A fix")
    fix = git(repo, "rev-parse", "HEAD")
    assert release(repo, "v1.2.4").returncode == 0
    assert pinned_lines(repo, "v1") == [f"uses: ohdsi/factory-sync@{fix} # v1.2.4"]
    assert git(repo, "rev-parse", "v1^{commit}") == git(repo, "rev-parse", "v1.2.4^{commit}")
    assert git(repo, "rev-parse", "v1.2.3^{commit}") == git(repo, "rev-parse", "HEAD~2")  # never moves


def test_push_sends_the_branch_and_both_tags(repo):
    done = release(repo, "v1.0.0", "--push")
    assert done.returncode == 0, done.stderr
    remote = dict(reversed(line.split("\t")) for line in git(repo, "ls-remote", "origin").splitlines())
    head = git(repo, "rev-parse", "HEAD")
    assert remote["refs/heads/main"] == head
    assert git(repo, "rev-parse", "v1.0.0") == remote["refs/tags/v1.0.0"]
    assert git(repo, "rev-parse", "v1") == remote["refs/tags/v1"]


def test_a_dry_run_changes_nothing(repo):
    before, text = refs(repo), (repo / WORKFLOW).read_text(encoding="utf-8")
    done = release(repo, "v1.2.3", "--dry-run", "--push")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dry run, nothing done; would:")
    assert "tag v1.2.3 on the release commit and move v1 to it" in done.stdout
    assert (refs(repo), (repo / WORKFLOW).read_text(encoding="utf-8")) == (before, text)
    assert git(repo, "ls-remote", "origin") == ""


@pytest.mark.parametrize("version", ["1.2.3", "v1.2", "v01.2.3", "v1.2.3-rc1", "v1.2.3 ", "V1.2.3", ""])
def test_a_malformed_version_is_refused(repo, version):
    before = refs(repo)
    done = release(repo, version)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"release: version {version!r} is not vMAJOR.MINOR.PATCH (e.g. v1.2.3, " \
                                  "no leading zeros)"
    assert refs(repo) == before


@pytest.mark.parametrize(("change", "message"), [
    ("edit", "the working tree has uncommitted changes; commit or remove them first"),
    ("stage", "the working tree has uncommitted changes; commit or remove them first"),
    ("detach", "HEAD is detached; check out the branch to release from"),
])
def test_a_tree_not_ready_is_refused(repo, change, message):
    if change in ("edit", "stage"):
        (repo / "action.yml").write_text("# half done\n", encoding="utf-8")
        if change == "stage":
            git(repo, "add", "action.yml")
    else:
        git(repo, "checkout", "-q", "--detach")
    before = refs(repo)
    done = release(repo, "v1.2.3")
    assert (done.returncode, done.stderr.strip()) == (2, f"release: {message}")
    assert refs(repo) == before


def test_an_existing_or_older_version_is_refused(repo):
    assert release(repo, "v1.3.0").returncode == 0
    git(repo, "commit", "-q", "--allow-empty", "-m", "More")
    before = refs(repo)
    again, older = release(repo, "v1.3.0"), release(repo, "v1.2.9")
    assert (again.returncode, again.stderr.strip()) == (2, "release: v1.3.0 is already tagged; choose the "
                                                           "next version")
    assert (older.returncode, older.stderr.strip()) == (2, "release: v1.3.0 is already released; v1 would "
                                                           "move back")
    assert refs(repo) == before
    assert release(repo, "v2.0.0").returncode == 0  # a new major version starts its own line
