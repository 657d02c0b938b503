"""Running the action step in this process, as the runner would run it: `factory_sync.sync.main()`
with the runner's INPUT_* and GITHUB_* variables, an event file, and output and summary files.

Faster than a child process (no interpreter start, no imports), so sweeps of many runs stay quick.
The variables are set for the run only and the process's own are put back afterwards. One run at a
time: the step reads its inputs from the process environment.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from actionkit import STUDY_JOB_PERMISSIONS, assert_nothing_shown, read_outputs, unmasked
from factory_sync.main import main
from github_double.demo_world import FACTORY_REPO
from github_double.server import GitHubDouble

RUN_ID = "777"
_one_at_a_time = threading.Lock()


@dataclass
class Run:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    seconds: float

    @property
    def log(self) -> str:
        return "\n".join(line for line in self.stdout.splitlines() if not line.startswith("::add-mask::"))

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """These variables, and no other INPUT_*, for the duration of the block."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith(("INPUT_", "GITHUB_", "RUNNER_"))]:
        del os.environ[name]
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_step(github: GitHubDouble, workdir: Path, event: str, payload: dict | None, *, repository: str,
             workflow_token: str | None = None, raw_event: bytes | None = None, **inputs: str | None) -> Run:
    """One run of the step. Inputs are keyword arguments (`write_interval="0"`); None leaves one out.
    `raw_event`, when given, is the event file's content instead of the payload."""
    workdir.mkdir(parents=True, exist_ok=True)
    event_path, output, summary = workdir / "event.json", workdir / "output", workdir / "summary.md"
    if raw_event is not None:
        event_path.write_bytes(raw_event)
    else:
        event_path.write_text(json.dumps(payload), encoding="utf-8")
    output.write_text("")
    summary.write_text("")
    if workflow_token is None:
        with github.world.lock:
            workflow_token = github.world.mint_workflow_token(repository, STUDY_JOB_PERMISSIONS)
    given = {"app_id": str(github.app_id), "private_key": github.private_key, "factory_repo": FACTORY_REPO,
             "token": workflow_token, "github_api_url": github.url, "write_interval": "0", **inputs}
    variables = {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository, "GITHUB_API_URL": github.url,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": RUN_ID, "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        **{f"INPUT_{name.upper()}": value for name, value in given.items() if value is not None},
    }
    out = io.StringIO()
    with _one_at_a_time, environment(variables), contextlib.redirect_stdout(out):
        started = time.perf_counter()
        code = main()
        seconds = time.perf_counter() - started
    assert_nothing_shown(github, stdout=unmasked(out.getvalue()), outputs=output.read_text(),
                         summary=summary.read_text())
    return Run(code, out.getvalue(), read_outputs(output.read_text()), summary.read_text(), seconds)
