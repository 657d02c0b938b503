"""Cancelled means revoked. The runner cancels a step by sending its process SIGINT, then SIGTERM,
then killing what is left. Sent at every phase of a study's run (before the mint, during it, after
it, and during a rate-limit wait), the sequence ends the run with every installation token revoked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from actionkit import ACTION_DIR, STUDY_JOB_PERMISSIONS
from github_double.demo_world import DEMO_APP_ID, FACTORY_REPO, STUDY_REPO
from github_double.server import GitHubDouble

# Where the run is held when the signal comes: (method, path glob, fault).
PHASES = {
    "before the mint": ("GET", f"/repos/{FACTORY_REPO}/installation", "slow"),
    "during the mint": ("POST", "/app/installations/*/access_tokens", "slow"),
    "after the mint": ("GET", f"/repos/{FACTORY_REPO}/issues", "slow"),
    "during a rate-limit wait": ("GET", f"/repos/{FACTORY_REPO}/issues", "secondary"),
}


def start(github: GitHubDouble, tmp_path) -> subprocess.Popen:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"inputs": {}}), encoding="utf-8")
    (tmp_path / "output").write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ACTION_DIR), "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": STUDY_REPO, "GITHUB_API_URL": github.url,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "INPUT_APP_ID": str(DEMO_APP_ID), "INPUT_PRIVATE_KEY": github.private_key,
        "INPUT_FACTORY_REPO": FACTORY_REPO, "INPUT_GITHUB_API_URL": github.url,
        "INPUT_TOKEN": github.world.mint_workflow_token(STUDY_REPO, STUDY_JOB_PERMISSIONS),
        "INPUT_RATE_LIMIT_WAIT": "60",
    }
    return subprocess.Popen([sys.executable, "-m", "factory_sync", "action"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def live_tokens(github: GitHubDouble) -> list:
    with github.world.lock:
        return [t for t in github.world.tokens.values() if t.installation_id and github.world.is_live(t)]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_the_runners_cancel_sequence_leaves_no_live_token(github, tmp_path, phase, first):
    method, path, kind = PHASES[phase]
    held = github.faults.add(kind, method, path, times=1, seconds=30,
                             retry_after=60 if kind != "slow" else None)
    process = start(github, tmp_path)
    deadline = time.monotonic() + 30
    while not held.fired and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held.fired, "the run never reached the phase"
    time.sleep(0.2)  # inside the held request, or the wait after the refusal
    process.send_signal(first)
    if first == signal.SIGINT:  # the runner follows up with SIGTERM
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
    if kind == "slow" and phase == "during the mint":
        held.release()  # the mint's answer arrives: the token it brings must be revoked
    try:
        out, err = process.communicate(timeout=20)
    finally:
        held.release()
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "cancelled" in out, out + err
    assert "Traceback" not in err, err
    assert live_tokens(github) == []
