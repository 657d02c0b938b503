"""Running the action step as the runner does: `python -m factory_sync action` in a child process,
with INPUT_* and GITHUB_* variables, an event file, and output and summary files to read back."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

import reliability
from factory_sync.dashboard import DASHBOARD_LABEL
from github_double.demo_world import DEMO_APP_ID, FACTORY_REPO, STUDY_REPO
from github_double.server import GitHubDouble
from github_double.world import Issue

ACTION_DIR = Path(__file__).resolve().parents[1] / "action"
WEBHOOKS = Path(__file__).resolve().parent / "fixtures" / "webhooks"
RUN_ID = "4242"
# A study job's `permissions:`: its issues, and its own stage catalog file.
STUDY_JOB_PERMISSIONS = {"issues": "read", "contents": "read"}


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        """What the run's log shows: the runner consumes ::add-mask:: lines and never echoes them."""
        lines = (self.stdout + self.stderr).splitlines()
        return "\n".join(line for line in lines if not line.startswith("::add-mask::"))

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def commit_file(github: GitHubDouble, mint_token, repo: str, path: str, text: str) -> None:
    """Someone with write access commits a file on the default branch, through the contents API."""
    token = mint_token(repositories=[repo.split("/")[1]], permissions={"contents": "write"})
    content = base64.b64encode(text.encode()).decode()
    answer = requests.put(f"{github.url}/repos/{repo}/contents/{path}", timeout=10,
                          headers={"Authorization": f"token {token}"},
                          json={"message": f"Update {path}", "content": content})
    assert answer.status_code == 201, answer.text


def commit_config(github: GitHubDouble, mint_token, text: str) -> None:
    """The Factory's admin commits its config file."""
    commit_file(github, mint_token, FACTORY_REPO, ".github/factory-sync.yml", text)


def webhook_examples(event: str) -> list[dict]:
    return json.loads((WEBHOOKS / f"{event}.json").read_text(encoding="utf-8"))["examples"]


def example(action: str, event: str = "issues") -> dict:
    """A copy of GitHub's own example payload for this action. The examples have none for a few
    actions (`closed`): those are made from the `reopened` one, which has the same shape."""
    examples = webhook_examples(event)
    found = next((e for e in examples if e.get("action") == action), None)
    if found is None:
        found = {**next(e for e in examples if e.get("action") == "reopened"), "action": action}
    return copy.deepcopy(found)


def study_event(action: str, issue: Issue, *, label: str | None = None, repo: str = STUDY_REPO) -> dict:
    """GitHub's example payload for `action`, pointed at a study issue as it now stands."""
    payload = example(action)
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = repo.split("/")[1]
    payload["issue"]["number"] = issue.number
    payload["issue"]["title"] = issue.title
    payload["issue"]["labels"] = [{"name": name} for name in issue.labels]
    payload["issue"]["state"] = issue.state
    if label is not None:
        payload["label"] = {"name": label}
    return payload


def run_action(
    github: GitHubDouble,
    tmp_path: Path,
    payload: dict | None,
    *,
    event: str = "issues",
    repository: str = STUDY_REPO,
    token: str | None = None,
    env: dict[str, str] | None = None,
    raw_event: bytes | None = None,
    **inputs: str,
) -> ActionRun:
    """Run the step once. Inputs are given as keyword arguments (`factory_repo="o/r"`) and
    override the demo defaults; a value of None removes the input. `raw_event`, when given, is the
    event file's content instead of the payload. Everything the run shows is scanned for secrets."""
    event_path = tmp_path / "event.json"
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    if raw_event is not None:
        event_path.write_bytes(raw_event)
    else:
        event_path.write_text(json.dumps(payload) if payload is not None else "", encoding="utf-8")
    output.write_text("")
    summary.write_text("")
    given = {
        "app_id": str(DEMO_APP_ID),
        "private_key": github.private_key,
        "factory_repo": FACTORY_REPO,
        "token": token or github.world.mint_workflow_token(STUDY_REPO, STUDY_JOB_PERMISSIONS),
        "github_api_url": github.url,
        "create_missing": "true",
        "dry_run": "false",
        **inputs,
    }
    variables = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ACTION_DIR),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_API_URL": github.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": RUN_ID,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        **{f"INPUT_{name.upper()}": value for name, value in given.items() if value is not None},
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "factory_sync", "action"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = ActionRun(
        done.returncode, done.stdout, done.stderr, read_outputs(output.read_text()), summary.read_text()
    )
    assert_nothing_shown(github, stdout=unmasked(done.stdout), stderr=done.stderr,
                         outputs=output.read_text(), summary=run.summary)
    return run


def unmasked(stdout: str) -> str:
    """Standard output as the run's log shows it: the runner consumes ::add-mask:: lines."""
    return "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))


def read_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's `name<<DELIMITER` blocks, read back as the runner reads them."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        if delimiter:
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            key, _, value = line.partition("=")
            outputs[key] = value
    return outputs


def tracking_issues(github: GitHubDouble) -> list[Issue]:
    """The Factory's issues, less the portfolio dashboard (tests/test_dashboard_issue.py counts its own)."""
    factory = github.world.repo(FACTORY_REPO)
    return [i for i in factory.issues.values() if not i.is_pull_request and DASHBOARD_LABEL not in i.labels]


def stage_rows(body: str) -> dict[str, str]:
    """Stage name -> status word, read from the block's table."""
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and cells[0] not in ("Stage", "---"):
            rows[cells[0].strip("*")] = cells[1].split(" ", 1)[1] if " " in cells[1] else cells[1]
    return rows


def writes(github: GitHubDouble) -> list:
    """Requests that change an issue or label (not the GraphQL read, not token minting or revoking)."""
    return [
        e
        for e in github.log.entries()
        if e.method in ("POST", "PATCH", "PUT", "DELETE") and "/issues" in e.path
    ]


def secrets_of(github: GitHubDouble) -> list[str]:
    """Everything that must never be shown: the App key's lines, every token the double issued and
    every credential (App JWTs included) that reached it."""
    key_lines = [line for line in github.private_key.splitlines() if "PRIVATE KEY" not in line]
    sent = {
        value.split(" ")[-1]
        for e in github.log.entries()
        for name, value in e.request_headers.items()
        if name.lower() == "authorization"
    }
    return key_lines + list(github.world.tokens) + sorted(s for s in sent if s)


# Credentials by their shape, for those that never reached the double: installation, user, OAuth and
# refresh tokens, fine-grained personal access tokens, JWTs, and the base64 body of a PEM key.
SECRET_SHAPES = re.compile(
    r"\bgh[opsur]_[A-Za-z0-9]{36}\b|\bgithub_pat_\w{22,}|\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+"
    r"|^(?=[^\n]*[a-z])(?=[^\n]*[A-Z])[A-Za-z0-9+/]{64}$", re.MULTILINE)


def scan(github: GitHubDouble | None, **shown: str) -> list[str]:
    """Look for secrets in what a run showed, one keyword per stream or file (`stdout=...`): every
    secret of the double (see `secrets_of`; none without a double) and anything shaped like a
    credential. Returns where each was found, by its first characters only; counted as secret scans
    and hits in the reliability figures."""
    secrets = secrets_of(github) if github is not None else []
    found = [f"{where}: {secret[:8]}..." for where, text in shown.items() for secret in secrets
             if secret in text]
    known = set(secrets)
    found += [f"{where}: {match.group()[:8]}... (by its shape)" for where, text in shown.items()
              for match in SECRET_SHAPES.finditer(text) if match.group() not in known]
    reliability.count("secret scans", len(shown))
    reliability.count("secret hits", len(found))
    return found


def assert_nothing_shown(github: GitHubDouble, **shown: str) -> None:
    """`scan`, failing the test on any hit. The double's request log is scanned along with the run."""
    found = scan(github, **shown, request_log=repr(github.log.entries()))
    assert found == [], f"secrets shown: {found}"


def leaks(run: ActionRun, github: GitHubDouble) -> list[str]:
    """Secrets visible in the log, the outputs or the summary (should be none)."""
    shown = "\n".join([run.log, json.dumps(run.outputs), run.summary])
    return [secret[:8] + "..." for secret in secrets_of(github) if secret in shown]


def cells(row: str) -> int:
    """Table cells in a row, counting only unescaped pipes, as GitHub splits them."""
    pipes, escaped = 0, False
    for char in row:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            pipes += 1
    return pipes - 1
