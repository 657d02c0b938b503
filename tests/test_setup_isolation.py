"""The action's set-up runs nothing from the workspace, and its sync step is the process the runner
signals.

The steps' scripts are read from action.yml and run as the runner runs a `shell: bash` step (`bash
--noprofile --norc -eo pipefail <file>`), from the workspace, with the variables the runner gives
(RUNNER_TEMP, RUNNER_OS, GITHUB_ACTION_PATH, GITHUB_OUTPUT). The workspace holds a study checkout's
worst: modules named like the ones set-up uses (`hashlib.py`, `venv/`, `pip/`, `ensurepip/`) and a
copy of the action's own package (`factory_sync/`), each leaving a marker file when it runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STEPS = {step["id"]: step for step in yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
         ["runs"]["steps"]}
PLANTED = ["hashlib.py", "venv/__main__.py", "pip/__main__.py", "ensurepip/__main__.py",
           "factory_sync/__init__.py", "factory_sync/__main__.py"]
SETUP_TIMEOUT = 300  # seconds: the set-up installs the action's requirements from the index


def plant(workspace: Path, markers: Path) -> None:
    for name in PLANTED:
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = markers / name.replace("/", "_")
        path.write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")


def runner_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment a runner gives a step: this machine's, less anything Python-specific
    the tests set, with the runner's own variables."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTHON", "GITHUB_", "RUNNER_", "INPUT_", "VIRTUAL_ENV"))}
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    output = tmp_path / "github-output"
    output.touch()
    return {**env, "RUNNER_TEMP": str(tmp_path / "runner-temp"), "RUNNER_OS": "Linux",
            "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(output), **extra}


def step_command(tmp_path: Path, step: str) -> list[str]:
    script = tmp_path / f"{step}.sh"
    script.write_text(STEPS[step]["run"], encoding="utf-8")
    return ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]


def run_setup(tmp_path: Path, **extra: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    workspace, markers = tmp_path / "workspace", tmp_path / "markers"
    workspace.mkdir()
    markers.mkdir()
    plant(workspace, markers)
    env = runner_env(tmp_path, **extra)
    done = subprocess.run(step_command(tmp_path, "setup"), cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=SETUP_TIMEOUT, check=False)
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    return done, outputs


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, dict[str, str]]:
    tmp_path = tmp_path_factory.mktemp("setup")
    done, outputs = run_setup(tmp_path)
    return tmp_path, done, outputs


def test_the_planted_modules_would_run_in_an_unisolated_python(tmp_path):
    """The plants work: the old set-up's first call, `python3 -c 'import hashlib ...'`, ran one."""
    workspace, markers = tmp_path / "workspace", tmp_path / "markers"
    workspace.mkdir()
    markers.mkdir()
    plant(workspace, markers)
    subprocess.run(["python3", "-c", "import hashlib"], cwd=workspace, env=runner_env(tmp_path), check=True)
    assert [p.name for p in markers.iterdir()] == ["hashlib.py"]


def test_set_up_runs_nothing_from_the_workspace(setup):
    tmp_path, done, outputs = setup
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((tmp_path / "markers").iterdir()) == []
    python = Path(outputs["python"])
    assert python.is_file()
    assert python.is_relative_to(tmp_path / "runner-temp")


def test_the_environment_s_path_cannot_be_foreseen(setup, tmp_path):
    """Two set-ups of the same action make two environments, neither named after anything an
    earlier step could compute (the action's path, its requirements)."""
    _, _, first = setup
    done, second = run_setup(tmp_path)
    assert done.returncode == 0, done.stderr
    first_home, second_home = Path(first["python"]).parents[2], Path(second["python"]).parents[2]
    assert first_home.name != second_home.name
    assert first_home.name.startswith("factory-sync-") and len(first_home.name) >= len("factory-sync-") + 10
    assert first_home.stat().st_mode & 0o077 == 0  # only the runner's user may look in


def test_an_old_pip_falls_back_to_the_environment_s_own_pip_isolated(tmp_path):
    """A runner Python without a pip of its own (or one older than 22.3): the environment gets pip
    (ensurepip), still isolated, so the planted ensurepip and pip do not run either."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-I", "-m", "venv", "--without-pip", str(bare)], check=True)
    path = f"{bare / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    done, outputs = run_setup(tmp_path, PATH=path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((tmp_path / "markers").iterdir()) == []
    python = Path(outputs["python"])
    check = subprocess.run([str(python), "-I", "-c", "import pip, github, factory_sync"], check=False)
    assert check.returncode == 0


def test_the_action_runs_isolated_from_its_own_environment(setup, tmp_path):
    """The sync step's interpreter finds the action's code and its requirements through the
    environment alone: no PYTHONPATH, and neither the working directory nor PYTHONPATH can shadow
    them."""
    _, _, outputs = setup
    workspace, markers = tmp_path / "workspace", tmp_path / "markers"
    workspace.mkdir()
    markers.mkdir()
    plant(workspace, markers)
    code = "import factory_sync, github; print(factory_sync.__file__)"
    env = {**runner_env(tmp_path), "PYTHONPATH": str(workspace)}
    done = subprocess.run([outputs["python"], "-I", "-c", code], cwd=workspace, env=env, capture_output=True,
                          text=True, check=True)
    assert Path(done.stdout.strip()) == ROOT / "action" / "factory_sync" / "__init__.py"
    assert list(markers.iterdir()) == []


def test_the_sync_step_becomes_python_so_the_runner_s_signals_reach_it(setup, tmp_path):
    """The runner cancels a step by signalling the process it started (SIGINT, then SIGTERM): after
    `exec`, that process is Python itself, not a shell that would wait for it. The action is held
    by a GitHub that accepts the connection and never answers."""
    _, _, outputs = setup
    workspace, markers = tmp_path / "workspace", tmp_path / "markers"
    workspace.mkdir()
    markers.mkdir()
    plant(workspace, markers)
    event = tmp_path / "event.json"
    event.write_text('{"inputs": {}}', encoding="utf-8")
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        env = runner_env(tmp_path, PYTHON=outputs["python"], PYTHONPATH=str(workspace),
                         INPUT_MODE="dispatch", INPUT_FACTORY_REPO="ohdsi/Factory",
                         INPUT_TOKEN="ghs_" + "a" * 36, INPUT_HTTP_TIMEOUT="600",
                         INPUT_GITHUB_API_URL=f"http://127.0.0.1:{silent.getsockname()[1]}",
                         GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="workflow_dispatch",
                         GITHUB_EVENT_PATH=str(event), GITHUB_REPOSITORY="ohdsi/DemoStudy",
                         GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
        step = subprocess.Popen(step_command(tmp_path, "sync"), cwd=workspace, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            silent.settimeout(60)
            connection, _ = silent.accept()  # the action has started and is waiting for GitHub
            cmdline = Path(f"/proc/{step.pid}/cmdline").read_bytes().split(b"\0")
            step.terminate()
            log, _ = step.communicate(timeout=60)
            connection.close()
        finally:
            if step.poll() is None:
                step.kill()
                step.wait()
    finally:
        silent.close()
    assert cmdline[:4] == [outputs["python"].encode(), b"-I", b"-m", b"factory_sync"], (cmdline, log)
    assert step.returncode != 0, log
    assert list(markers.iterdir()) == []
