"""Started without its requirements (a bare Python, nothing installed), each command says in one line
which package is missing and how to install it, and exits 2: never a traceback."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment with nothing installed in it, not even pip."""
    where = tmp_path_factory.mktemp("bare")
    venv.EnvBuilder(with_pip=False).create(where)
    return where / ("Scripts" if sys.platform == "win32" else "bin") / "python"


def run(python: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "factory_sync", *args], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT / "action")}, timeout=60, check=False)


def test_the_action_names_the_missing_package(bare_python):
    done = run(bare_python, "action")
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith("::error::factory-sync cannot start: the package ")
    assert line.endswith("is missing; run `pip install -r requirements.txt` in its environment and try "
                         "again.")


@pytest.mark.parametrize("command", [["sandbox", "demo"], ["sandbox", "serve", "--port", "0"]])
def test_the_sandbox_names_the_missing_package(bare_python, command):
    done = run(bare_python, *command)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("sandbox: the GitHub double cannot start (the package ")
    assert "`pip install -r requirements-dev.txt` (or sandbox/requirements.txt)" in line
