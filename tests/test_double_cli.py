"""`python -m factory_sync sandbox serve` in a subprocess, and the state files it loads."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubIntegration

from github_double.demo_world import public_key_of
from github_double.state_file import StateFileError, load_state

ROOT = Path(__file__).resolve().parents[1]


def _serve(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "action")}
    return subprocess.Popen([sys.executable, "-m", "factory_sync", "sandbox", "serve", *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def serving(*args: str) -> Iterator[str]:
    process = _serve(*args)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def _installation_client(url: str, key: str) -> Github:
    integration = GithubIntegration(auth=Auth.AppAuth(1, key), base_url=url, retry=None)
    installation = integration.get_repo_installation("ohdsi-demo", "DemoStudy")
    token = integration.get_access_token(installation.id).token
    return Github(auth=Auth.Token(token), base_url=url, retry=None, seconds_between_requests=None)


def test_serve_prints_its_url_first_and_writes_a_working_app_key(tmp_path):
    key_file = tmp_path / "app.pem"
    with serving("--port", "0", "--app-key-out", str(key_file)) as url:
        assert key_file.stat().st_mode & 0o777 == 0o600
        study = _installation_client(url, key_file.read_text()).get_repo("ohdsi-demo/DemoStudy")
        assert study.get_issue(1).title == "Draft the study protocol"


def test_serve_writes_the_token_a_study_workflow_gets(tmp_path):
    token_file = tmp_path / "token.txt"
    with serving("--port", "0", "--workflow-token-out", str(token_file)) as url:
        assert token_file.stat().st_mode & 0o777 == 0o600
        gh = Github(auth=Auth.Token(token_file.read_text()), base_url=url, retry=None,
                    seconds_between_requests=None)
        study = gh.get_repo("ohdsi-demo/DemoStudy")
        assert study.get_issue(1).title == "Draft the study protocol"  # issues: read
        answer = requests.post(f"{url}/repos/ohdsi-demo/DemoStudy/issues", json={"title": "x"}, timeout=10,
                               headers={"Authorization": f"Bearer {token_file.read_text()}"})
        assert answer.status_code == 403  # not issues: write
        factory = requests.get(f"{url}/repos/ohdsi-demo/Factory/issues", timeout=10,
                               headers={"Authorization": f"Bearer {token_file.read_text()}"})
        assert factory.status_code == 404  # its own repository only


def test_a_workflow_token_for_a_repository_the_world_lacks_is_refused_in_one_line(tmp_path):
    process = _serve("--port", "0", "--workflow-token-out", str(tmp_path / "t"), "--workflow-repo", "a/b")
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (2, "")
    assert err.strip() == "sandbox serve: --workflow-repo a/b is not a repository of the world served"
    assert not (tmp_path / "t").exists()


def test_serve_stops_cleanly_on_sigint():
    process = _serve("--port", "0")
    url = process.stdout.readline().strip()
    assert requests.get(f"{url}/rate_limit", timeout=10).status_code == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    process.stdout.close()
    process.stderr.close()


def _state(key_path: Path) -> dict:
    return {
        "users": {"alice": "User"},
        "apps": [{"id": 7, "slug": "factory-sync", "owner": "acme", "private_key_path": key_path.name}],
        "repositories": [
            {"full_name": "acme/Factory", "private": True, "labels": ["study-tracking"]},
            {"full_name": "acme/Study", "labels": [{"name": "stage:base-camp", "color": "c5def5"}],
             "issues": [
                 {"number": 4, "title": "Kick-off", "user": "alice", "labels": ["stage:base-camp"],
                  "created_at": "2025-01-06T09:00:00Z", "closed_at": "2025-01-20T17:00:00Z"},
                 {"title": "Protocol", "user": "alice", "created_at": "2025-01-21T09:00:00Z",
                  "labels": ["stage:protocol-development"],
                  "timeline": [{"event": "labeled", "label": "stage:base-camp", "actor": "alice",
                                "created_at": "2025-01-21T09:00:00Z"},
                               {"event": "unlabeled", "label": "stage:base-camp", "actor": "alice",
                                "created_at": "2025-01-22T09:00:00Z"},
                               {"event": "labeled", "label": "stage:protocol-development", "actor": "alice",
                                "created_at": "2025-01-22T09:00:00Z"}]},
             ]},
        ],
        "installations": [{"id": 55, "app_id": 7, "account": "acme", "repositories": "all",
                           "permissions": {"issues": "write", "metadata": "read"}}],
        "workflow_tokens": [{"token": "ghs_workflowtokenforthefactory000000000", "repository": "acme/Factory",
                             "permissions": {"issues": "write", "contents": "write"}}],
    }


def test_a_state_file_describes_the_world(tmp_path, app_private_key):
    key_path = tmp_path / "app.pem"
    key_path.write_text(app_private_key)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(_state(key_path)))
    with serving("--port", "0", "--state", str(state)) as url:
        integration = GithubIntegration(auth=Auth.AppAuth(7, app_private_key), base_url=url, retry=None)
        assert integration.get_org_installation("acme").id == 55
        workflow = Github(auth=Auth.Token("ghs_workflowtokenforthefactory000000000"), base_url=url,
                          retry=None, seconds_between_requests=None)
        assert workflow.get_repo("acme/Factory").get_label("study-tracking").name == "study-tracking"
        # acme/Study is public, so anonymous callers read it
        study = requests.get(f"{url}/repos/acme/Study/issues?state=all", timeout=10).json()
        assert [(i["number"], i["state"]) for i in study] == [(5, "open"), (4, "closed")]
        events = requests.get(f"{url}/repos/acme/Study/issues/5/events", timeout=10).json()
        assert [e["event"] for e in events] == ["labeled", "unlabeled", "labeled"]


def test_a_state_file_may_give_the_public_key_alone(tmp_path, app_private_key):
    state = {"apps": [{"id": 3, "public_key_pem": public_key_of(app_private_key)}]}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    world, key = load_state(path)
    assert key is None and world.apps[3].client_id


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("apps"), "state: missing 'apps'"),
    (lambda s: s["installations"][0].update(app_id=9), "installations[0].app_id: no app 9 in apps"),
    (lambda s: s["repositories"][1]["issues"][0].update(created_at="yesterday"),
     "repositories[1].issues[0].created_at: 'yesterday' is not an ISO 8601 time"),
    (lambda s: s["repositories"][1]["issues"][1]["timeline"][0].update(event="merged"),
     "repositories[1].issues[1].timeline[0].event: 'merged' is not one of"),
    (lambda s: s["apps"][0].update(private_key_path="missing.pem"), "is not a readable PEM private key"),
    (lambda s: s["workflow_tokens"][0].update(repository="acme/Nowhere"), "no repository acme/Nowhere"),
])
def test_state_file_mistakes_are_named(tmp_path, app_private_key, change, message):
    key_path = tmp_path / "app.pem"
    key_path.write_text(app_private_key)
    state = _state(key_path)
    change(state)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    with pytest.raises(StateFileError, match=re.escape(message)):
        load_state(path)


def test_serve_with_a_bad_state_file_exits_2_with_a_clear_message(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"apps": [}')
    process = _serve("--port", "0", "--state", str(path))
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert out == ""
    assert f"bad state file {path}: {path} is not valid JSON" in err
    assert "Traceback" not in err
