"""Draw the portfolio dashboard issue as github.com shows it, to a PNG (docs/images/portfolio-dashboard.png).

It builds the portfolio world (sandbox/github_double/portfolio_world.py) on the GitHub double, adds a
tracking issue for a study the App cannot read, and runs a resync of every study in the Factory as
the runner runs the action step (`python -m factory_sync action` in a child process, on a
workflow_dispatch, with `discover: true` and `create-missing: false`, so the untracked study shows).
The dashboard issue's body is then turned into HTML as github.com does it: GitHub-flavoured Markdown
by the `marked` package, the ```mermaid block drawn by the `mermaid` package, both loaded from
tests/mermaid/node_modules (no network), in an issue page styled like github.com's; headless
Chromium takes the screenshot.

Needs `chromium` and `npm ci` in tests/mermaid.
Usage: python scripts/render_dashboard.py [--out docs/images/portfolio-dashboard.png] [--studies 20]
       [--seed 11] [--width 1280]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "action"), str(ROOT / "sandbox"), str(ROOT / "scripts")]

from bench import resync_env  # noqa: E402 - after the path is set
from factory_sync.dashboard import DASHBOARD_LABEL  # noqa: E402
from github_double.portfolio_world import (  # noqa: E402
    FACTORY_REPO,
    OWNER,
    TRACKING_LABEL,
    build_portfolio_world,
    old_tracking_body,
)
from github_double.server import GitHubDouble  # noqa: E402
from github_double.world import World  # noqa: E402

NODE_MODULES = ROOT / "tests" / "mermaid" / "node_modules"
SCRIPTS = {"marked": "marked/lib/marked.umd.js", "mermaid": "mermaid/dist/mermaid.min.js"}
UNREADABLE_STUDY = f"{OWNER}/RetiredStudy"  # a tracking issue names it; the App cannot see it
STUDIES, SEED = 20, 11  # the picture's world: a study in every state, a third of them stalled
RUN_TIMEOUT = 600
RENDER_BUDGET_MS = 15000  # Chromium's virtual time for marked and mermaid to finish

# A small part of github-markdown-css (light theme), and the frame of an issue page around it.
CSS = """
body { margin: 0; background: #fff; color: #1f2328; -webkit-font-smoothing: antialiased;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
  "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; font-size: 14px; line-height: 1.5; }
.page { padding: 24px 32px 32px; }
.title { font-size: 32px; font-weight: 400; margin: 0 0 8px; }
.title .number { color: #59636e; font-weight: 300; }
.meta { display: flex; align-items: center; gap: 8px; color: #59636e; padding-bottom: 16px;
  border-bottom: 1px solid #d1d9e0; margin-bottom: 24px; }
.state { background: #1f883d; color: #fff; border-radius: 2em; padding: 5px 12px; font-weight: 500; }
.columns { display: flex; gap: 24px; align-items: flex-start; }
.thread { flex: 1; min-width: 0; display: flex; gap: 16px; }
.avatar { width: 40px; height: 40px; border-radius: 6px; background: #8250df; color: #fff;
  font-weight: 600; display: flex; align-items: center; justify-content: center; flex: none; }
.comment { flex: 1; min-width: 0; border: 1px solid #d1d9e0; border-radius: 6px; }
.comment-head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e;
  border-radius: 6px 6px 0 0; }
.comment-head b { color: #1f2328; }
.bot { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 6px; font-size: 12px; }
.sidebar { width: 256px; flex: none; color: #59636e; font-size: 12px; }
.sidebar h3 { font-size: 12px; color: #59636e; margin: 0 0 8px; }
.sidebar section { border-bottom: 1px solid #d1d9e0; padding-bottom: 16px; margin-bottom: 16px; }
.label { display: inline-block; background: #ededed; color: #1f2328; border-radius: 2em; padding: 0 7px;
  font-weight: 500; line-height: 20px; border: 1px solid #d1d9e0; }
.markdown-body { padding: 16px; word-wrap: break-word; }
.markdown-body > :first-child { margin-top: 0; }
.markdown-body p, .markdown-body table, .markdown-body pre { margin: 0 0 16px; }
.markdown-body h2, .markdown-body h3 { margin: 24px 0 16px; font-weight: 600; line-height: 1.25; }
.markdown-body h2 { font-size: 1.5em; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
.markdown-body h3 { font-size: 1.25em; }
.markdown-body a { color: #0969da; text-decoration: underline; text-underline-offset: .2rem; }
.markdown-body code { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 85%; padding: .2em .4em; border-radius: 6px;
  background: #818b981f; }
.markdown-body table { border-spacing: 0; border-collapse: collapse; display: block; width: max-content;
  max-width: 100%; overflow: auto; font-variant: tabular-nums; }
.markdown-body th { font-weight: 600; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body tr { background: #fff; border-top: 1px solid #d1d9e0b3; }
.markdown-body tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body sub { font-size: 75%; }
.markdown-body .mermaid-chart { margin: 0 0 16px; text-align: center; }
.markdown-body .mermaid-chart svg { max-height: 360px; }
"""

# In the page: the body through marked (as GitHub renders it), then each mermaid block drawn. The
# page's height is left on <body> for the first pass to read.
PAGE_SCRIPT = """
const target = document.querySelector('.markdown-body');
target.innerHTML = marked.parse(JSON.parse(document.getElementById('source').textContent), {gfm: true});
const charts = [];
for (const code of target.querySelectorAll('pre > code.language-mermaid')) {
  const chart = document.createElement('div');
  chart.className = 'mermaid-chart';
  chart.textContent = code.textContent;
  code.parentElement.replaceWith(chart);
  charts.push(chart);
}
mermaid.initialize({startOnLoad: false, securityLevel: 'strict', theme: 'default'});
mermaid.run({nodes: charts}).finally(() => {
  document.body.dataset.height = Math.ceil(document.documentElement.scrollHeight);
});
"""


def portfolio(studies: int, seed: int, private_key: str | None = None) -> tuple[World, str]:
    """The portfolio world, and one more tracking issue naming a study the App cannot read."""
    world, key = build_portfolio_world(studies, seed, private_key)
    factory = world.repo(FACTORY_REPO)
    with world.lock:
        world.create_issue(factory, UNREADABLE_STUDY.split("/")[1],
                           old_tracking_body(UNREADABLE_STUDY, "Network Execution", "greta-n"),
                           "github-actions[bot]", labels=[TRACKING_LABEL])
    return world, key


def resync(double: GitHubDouble, key: str, tmp: Path) -> subprocess.CompletedProcess:
    """The action step on a workflow_dispatch in the Factory, with the environment the runner gives it."""
    inputs = {"create-missing": "false", "discover": "true", "write-interval": "0"}
    env = resync_env(double, key, tmp, 1, inputs)
    return subprocess.run([sys.executable, "-m", "factory_sync", "action"], env=env, check=False,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)


def dashboard_issue(world: World) -> tuple[int, str, str]:
    """The dashboard issue's number, body and author."""
    with world.lock:
        issue = next((i for i in world.repo(FACTORY_REPO).issues.values() if DASHBOARD_LABEL in i.labels),
                     None)
        if issue is None:
            raise SystemExit("render_dashboard: the resync left no dashboard issue")
        return issue.number, issue.body or "", issue.user


def page(number: int, body: str, author: str) -> str:
    """The issue page: title, state, the body (rendered in the page) and the labels."""
    scripts = "".join(f'<script src="{(NODE_MODULES / path).as_uri()}"></script>'
                      for path in SCRIPTS.values())
    source = json.dumps(body).replace("</", "<\\/")
    who = html.escape(author.removesuffix("[bot]"))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><style>{CSS}</style>{scripts}</head>
<body><div class="page">
<h1 class="title">Factory portfolio <span class="number">#{number}</span></h1>
<div class="meta"><span class="state">Open</span><span><b>{who}</b> <span class="bot">bot</span>
 opened this issue · 0 comments</span></div>
<div class="columns"><div class="thread"><div class="avatar">fs</div><div class="comment">
<div class="comment-head"><b>{who}</b> <span class="bot">bot</span> commented</div>
<div class="markdown-body"></div></div></div>
<div class="sidebar"><section><h3>Assignees</h3>No one assigned</section>
<section><h3>Labels</h3><span class="label">{DASHBOARD_LABEL}</span></section></div></div></div>
<script type="application/json" id="source">{source}</script><script>{PAGE_SCRIPT}</script></body></html>
"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("render_dashboard: needs the `chromium` command (apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--force-device-scale-factor=1", f"--user-data-dir={profile}",
             f"--virtual-time-budget={RENDER_BUDGET_MS}"]
    return subprocess.run([found, *flags, *args], check=True, capture_output=True, text=True, timeout=120)


def screenshot(html_file: Path, out: Path, width: int, tmp: Path) -> tuple[int, int]:
    """Two passes: the page's height once drawn, then the screenshot at that height."""
    dom = chromium("--dump-dom", f"--window-size={width},800", html_file.as_uri(), profile=tmp / "profile")
    height = re.search(r'<body data-height="(\d+)"', dom.stdout)
    if height is None or "<svg" not in dom.stdout:
        raise SystemExit("render_dashboard: the page was not drawn (is `npm ci` done in tests/mermaid?)")
    out.parent.mkdir(parents=True, exist_ok=True)
    size = (width, int(height.group(1)))
    chromium(f"--screenshot={out.resolve()}", f"--window-size={size[0]},{size[1]}", html_file.as_uri(),
             profile=tmp / "profile")
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "portfolio-dashboard.png")
    parser.add_argument("--studies", type=int, default=STUDIES, help="studies in the portfolio world")
    parser.add_argument("--seed", type=int, default=SEED, help="the portfolio world's seed")
    parser.add_argument("--width", type=int, default=1280, help="the browser window's width")
    args = parser.parse_args(argv)
    missing = [name for name, path in SCRIPTS.items() if not (NODE_MODULES / path).is_file()]
    if missing:
        raise SystemExit(f"render_dashboard: {', '.join(missing)} missing: run `npm ci` in tests/mermaid")
    world, key = portfolio(args.studies, args.seed)
    with GitHubDouble(world) as double, tempfile.TemporaryDirectory(prefix="render-dashboard-") as name:
        tmp = Path(name)
        double.reset(world, key)
        done = resync(double, key, tmp)
        if done.returncode not in (0, 1):  # 1: a study could not be read, the one meant not to be
            raise SystemExit(f"render_dashboard: the resync failed ({done.returncode}):\n"
                             + "\n".join((done.stdout + done.stderr).splitlines()[-20:]))
        number, body, author = dashboard_issue(world)
        print(f"resync exited {done.returncode} (1 is expected: {UNREADABLE_STUDY} cannot be read); "
              f"dashboard issue #{number}, {len(body):,} characters")
        html_file = tmp / "dashboard.html"
        html_file.write_text(page(number, body, author), encoding="utf-8")
        width, height = screenshot(html_file, args.out, args.width, tmp)
    print(f"wrote {args.out} ({width} x {height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
