"""Cut a release: the reusable workflow pins the action by commit, then the release is tagged.

The reusable workflow (.github/workflows/factory-resync.yml) runs the action by commit SHA, so a
caller who pins the workflow by SHA gets exactly that action. A commit cannot name its own SHA, so:
1. HEAD is the commit whose action is released; the working tree must be clean.
2. The release commit, HEAD's child, changes only the workflow's `uses: ohdsi/factory-sync@...`
   lines, to `ohdsi/factory-sync@<HEAD's SHA> # vX.Y.Z`.
3. vX.Y.Z is tagged on the release commit, and vX is moved to it.
The release commit differs from its parent only in that file, so the tags, the release commit and
the pinned commit all hold the same action.

Nothing leaves the repository unless --push: then the branch, vX.Y.Z and (forced) vX go to the
remote. --dry-run says what would be done and does nothing.

Usage: python scripts/release.py vX.Y.Z [--dry-run] [--push] [--remote origin] [--repo PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ".github/workflows/factory-resync.yml"
ACTION = "ohdsi/factory-sync"
VERSION = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
# A step's `uses:` of the action, with whatever ref and comment it has now.
USES = re.compile(rf"^(?P<lead>\s*(?:-\s+)?uses:\s*){re.escape(ACTION)}@(?P<ref>\S+)(?P<comment>\s+#.*)?$",
                  re.MULTILINE)
# The form a release leaves: a full commit SHA and the version as a comment.
PINNED = re.compile(rf"^\s*(?:-\s+)?uses:\s*{re.escape(ACTION)}@[0-9a-f]{{40}} # v\d+\.\d+\.\d+$",
                    re.MULTILINE)


class ReleaseError(Exception):
    """Why the release cannot go ahead, with what to do."""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def parse_version(text: str) -> tuple[int, int, int]:
    match = VERSION.fullmatch(text)
    if match is None:
        raise ReleaseError(f"version {text!r} is not vMAJOR.MINOR.PATCH (e.g. v1.2.3, no leading zeros)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def pin(workflow_text: str, sha: str, version: str) -> str:
    """The workflow with every `uses:` of the action pinned to `sha`, the version as a comment."""
    pinned, count = USES.subn(lambda m: f"{m['lead']}{ACTION}@{sha} # {version}", workflow_text)
    if count == 0:
        raise ReleaseError(f"{WORKFLOW} has no `uses: {ACTION}@...` line to pin")
    return pinned


def check_ready(repo: Path, version: str) -> str:
    """The branch to release from, once the repository is fit for the release of `version`."""
    major, minor, patch = parse_version(version)
    if git(repo, "status", "--porcelain", "--untracked-files=no"):
        raise ReleaseError("the working tree has uncommitted changes; commit or remove them first")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD":
        raise ReleaseError("HEAD is detached; check out the branch to release from")
    if not (repo / WORKFLOW).is_file():
        raise ReleaseError(f"{WORKFLOW} is missing")
    released = [parse_version(tag) for tag in git(repo, "tag", "--list", f"v{major}.*").split()
                if VERSION.fullmatch(tag)]
    if (major, minor, patch) in released:
        raise ReleaseError(f"{version} is already tagged; choose the next version")
    later = max(released, default=None)
    if later is not None and later > (major, minor, patch):
        raise ReleaseError(f"v{'.'.join(map(str, later))} is already released; v{major} would move back")
    return branch


def release(repo: Path, version: str, *, dry_run: bool, push: bool, remote: str) -> list[str]:
    """Make the release; returns what was done (or would be done), one line each."""
    branch = check_ready(repo, version)
    major = f"v{parse_version(version)[0]}"
    action_sha = git(repo, "rev-parse", "HEAD")
    path = repo / WORKFLOW
    before = path.read_text(encoding="utf-8")
    after = pin(before, action_sha, version)
    if after == before:
        raise ReleaseError(f"{WORKFLOW} already pins {action_sha}; nothing to release")
    steps = [f"pin {ACTION}@{action_sha} # {version} in {WORKFLOW}",
             f"commit 'Release {version}' on {branch} (only {WORKFLOW} changes)",
             f"tag {version} on the release commit and move {major} to it"]
    if push:
        steps.append(f"push {branch} and {version} to {remote}, and force {major} there")
    if dry_run:
        return ["dry run, nothing done; would:", *(f"  {step}" for step in steps)]
    path.write_text(after, encoding="utf-8")
    git(repo, "add", "--", WORKFLOW)
    git(repo, "commit", "--quiet", "-m", f"Release {version}", "--", WORKFLOW)
    release_sha = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "--annotate", version, "-m", version, release_sha)
    git(repo, "tag", "--force", "--annotate", major, "-m", f"{major}: {version}", release_sha)
    if push:
        git(repo, "push", remote, f"HEAD:refs/heads/{branch}", f"refs/tags/{version}")
        git(repo, "push", "--force", remote, f"refs/tags/{major}")
    return [*steps, f"{version} is {release_sha}; its workflow runs the action at {action_sha}"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="the version to release, vMAJOR.MINOR.PATCH")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    parser.add_argument("--push", action="store_true", help="push the branch and the tags to the remote")
    parser.add_argument("--remote", default="origin", help="the remote to push to (default origin)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        done = release(args.repo, args.version, dry_run=args.dry_run, push=args.push, remote=args.remote)
        print("\n".join(done))
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
