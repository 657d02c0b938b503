"""The dashboard as people first meet it: the portfolio world (`sandbox serve --portfolio N`) resynced
shows a study in every state, stalled ones among them; `sandbox demo` prints the dashboard issue;
scripts/render_dashboard.py draws it as github.com shows it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from factory_sync.tracking_block import FINISHED, NOT_STARTED
from github_double.limits import SecondaryLimits
from github_double.portfolio_world import FACTORY_REPO, STAGE_NAMES, build_portfolio_world, study_repo
from stepkit import run_step

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("render_dashboard", ROOT / "scripts" / "render_dashboard.py")
render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render)


def resync_every_study(github, tmp_path):
    """A resync of every study in the Factory that also finds untracked studies and leaves them so."""
    with github.world.lock:
        token = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    return run_step(github, tmp_path, "workflow_dispatch", {"inputs": {}}, repository=FACTORY_REPO,
                    workflow_token=token, factory_repo=FACTORY_REPO, discover="true", create_missing="false")


def dashboard_body(github) -> str:
    with github.world.lock:
        [issue] = [i for i in github.world.repo(FACTORY_REPO).issues.values()
                   if "portfolio-dashboard" in i.labels]
        return issue.body


def stage_counts(body: str) -> dict[str, tuple[int, int]]:
    """The dashboard's counts table: stage -> (studies, stalled)."""
    table = body.split("| Stage | Studies | Stalled |\n| --- | ---: | ---: |\n")[1].split("\n\n")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    return {name: (int(studies), int(stalled or 0)) for name, studies, stalled in rows}


def test_the_portfolio_world_resynced_has_a_study_in_every_state(github_double, app_private_key, tmp_path):
    n = 200
    world, key = build_portfolio_world(n, seed=1, private_key=app_private_key)  # as `--portfolio 200`
    world.limits = SecondaryLimits.off()  # 200 writes in a minute
    github_double.reset(world, key)
    run = resync_every_study(github_double, tmp_path)
    assert run.code == 0, run.log[-3000:]
    stalled = int(run.outputs["stalled"])
    assert 0 < stalled < n // 2 + n // 4, "some studies stalled, most of the others on track"
    assert (run.outputs["checked"], run.outputs["untracked"], run.outputs["failed"]) == (str(n + 1), "1", "0")
    body = dashboard_body(github_double)
    counts = stage_counts(body)
    assert set(counts) == {*STAGE_NAMES, NOT_STARTED, FINISHED}
    assert all(studies > stuck for studies, stuck in counts.values()), "every stage has studies on track"
    assert sum(stuck for _, stuck in counts.values()) == stalled
    assert any(stuck for name, (_, stuck) in counts.items() if name in STAGE_NAMES)
    assert f"{n + 1} studies: {stalled} stalled (in their stage for 21 days or more), 1 untracked" in body
    untracked = body.split("### Untracked studies")[1]
    assert f"| {study_repo(n + 1)} | {STAGE_NAMES[0]} |" in untracked
    days = [int(d) for d in re.findall(r"^\| [^|]+ \| [^|]+ \| \d{4}-\d\d-\d\d \| (\d+) \|", body, re.M)]
    assert min(days) < 21 <= max(days)


def test_the_picture_s_world_has_every_state_and_a_study_that_cannot_be_read(github_double, app_private_key,
                                                                           tmp_path):
    world, key = render.portfolio(render.STUDIES, render.SEED, app_private_key)
    github_double.reset(world, key)
    run = resync_every_study(github_double, tmp_path)
    assert run.code == 1 and run.outputs["failed"] == "1", "the unreadable study fails the step, alone"
    body = dashboard_body(github_double)
    assert set(stage_counts(body)) == {*STAGE_NAMES, NOT_STARTED, FINISHED, "(could not be read)"}
    assert int(run.outputs["stalled"]) > 0 and run.outputs["untracked"] == "1"
    assert f"| {render.UNREADABLE_STUDY} | " in body.split("### Studies that could not be read")[1]


def test_the_page_carries_the_body_as_data_and_loads_nothing_from_the_network():
    body = "## Factory portfolio\n</script><script>alert(1)</script>\n```mermaid\npie\n```"
    page = render.page(7, body, "factory-sync[bot]")
    assert "</script><script>alert(1)" not in page and "<\\/script>" in page
    assert "Factory portfolio <span class=\"number\">#7</span>" in page
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and all(source.startswith("file://") for source in sources)
    assert "http://" not in page and "https://" not in page


def test_the_script_draws_the_dashboard_to_a_png(tmp_path):
    assert shutil.which("chromium"), "the picture needs Chromium: apt-get install chromium (.ci/run does)"
    assert (render.NODE_MODULES / "mermaid").is_dir(), "run `npm ci` in tests/mermaid (.ci/run does)"
    out = tmp_path / "dashboard.png"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_dashboard.py"), "--out", str(out),
                           "--studies", "6", "--seed", "2", "--width", "900"],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 900 and height > 900, "the issue page, its chart and tables, down to the end"


def test_the_sandbox_demo_prints_the_dashboard_issue():
    done = subprocess.run([sys.executable, "-m", "factory_sync", "sandbox", "demo"], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "action")})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "==> python -m factory_sync action (a resync of every study, in the Factory)" in out
    assert "'dashboard-issue-number': '2'" in out
    dashboard = out.split("---- ohdsi-demo/Factory portfolio dashboard, AFTER the resync ")[1]
    assert dashboard.splitlines()[1] == "#2 Factory portfolio  [labels: portfolio-dashboard]"
    assert "## Factory portfolio" in dashboard
    assert "```mermaid\npie showData title Studies by stage" in dashboard
    assert "| ohdsi-demo/DemoStudy | Phenotype Development |" in dashboard
    assert "Item | Stage | Stage since | Stalled" in out, "the board's rows, as before"
