"""Every snippet in README.md and docs/*.md works as written, every link between the pages resolves,
no page repeats another, and the README stays short.

Which blocks run is decided by their language (docs/development.md, "Snippets in the docs"):
`bash` blocks run, in order, in one shell per page, as a reader types them into one terminal;
`python` blocks run with this environment's Python in the same directory; `yaml` and `json` blocks
are parsed, and whole workflows checked against GitHub's schema; `console` and `mermaid` blocks are
shown, not run.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN, PARSE, SHOWN = {"bash", "python"}, {"yaml", "json"}, {"console", "mermaid"}
README_LIMIT = 250
BLOCK_TIMEOUT = 60  # seconds: a block that runs longer is stuck (the sandbox's blocks take seconds)
TOOLS = Path(sys.executable).parent
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, counted from 1
    language: str
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.language})"


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def split(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """The page's fenced code blocks, and its other lines (numbered), as CommonMark reads fences."""
    blocks, prose = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            prose.append((index + 1, lines[index]))
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body, end = [], index + 1
        while end < len(lines):
            closing = FENCE.match(lines[end])
            if (closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence)
                    and not closing["info"].strip()):
                break
            line = lines[end]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])  # as CommonMark dedents
            end += 1
        language = opening["info"].strip().split(" ")[0]
        blocks.append(Block(name(path), index + 1, language, "\n".join(body) + "\n"))
        index = end + 1
    return blocks, prose


BLOCKS = {name(page): split(page)[0] for page in PAGES}
RUNNABLE = [page for page, blocks in BLOCKS.items() if any(b.language in RUN for b in blocks)]


def test_every_block_says_what_it_is():
    for block in (b for blocks in BLOCKS.values() for b in blocks):
        assert block.language in RUN | PARSE | SHOWN, (
            f"{block}: give the block one of the languages {sorted(RUN | PARSE | SHOWN)}; use console for "
            "commands that cannot run here (see docs/development.md, Snippets in the docs)")


def test_the_docs_have_snippets_to_run():
    assert {"docs/by-hand.md", "docs/sandbox.md"} <= set(RUNNABLE)
    assert any(b.language == "python" for b in BLOCKS["docs/sandbox.md"])


# -- running the bash and python blocks ------------------------------------------------------------

def scratch_checkout(where: Path) -> Path:
    """A directory that looks like a set-up checkout: the repository's files linked, and `.venv` the
    environment running these tests. Files the snippets write land here, not in the repository, even
    when an earlier walk through the pages left its own there."""
    for entry in ROOT.iterdir():
        if entry.name not in (".git", ".venv") and not ignored(entry):
            (where / entry.name).symlink_to(entry)
    (where / ".venv").symlink_to(sys.prefix)
    return where


def ignored(entry: Path) -> bool:
    """Whether git ignores the checkout's entry (true of what the pages' snippets leave behind)."""
    done = subprocess.run(["git", "check-ignore", "-q", entry.name], cwd=ROOT, check=False,
                          capture_output=True)
    return done.returncode == 0


def clean_environment() -> dict[str, str]:
    """This process's environment without what a runner or the test command set: the snippets must
    not write to a real job's outputs, nor find the action's inputs already given."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_")) and key != "PYTHONPATH"}


class Shell:
    """One bash for a page, fed its blocks in turn; `set -e` makes any failing command end it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"], cwd=cwd, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.blocks = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, block: Block) -> str:
        assert self.process.stdin is not None
        self.blocks += 1
        done = f"__block {self.blocks} done__"
        self.process.stdin.write(f"{block.text}\necho '{done}'\n")
        self.process.stdin.flush()
        shown: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=BLOCK_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"{block} still runs after {BLOCK_TIMEOUT} s; it printed:\n{''.join(shown)}")
            if line is None:
                status = self.process.wait()
                pytest.fail(f"{block} failed (exit status {status}); it printed:\n{''.join(shown)}")
            if line.rstrip("\n") == done:
                return "".join(shown)
            shown.append(line)

    def close(self) -> None:
        """End the shell and whatever the page left running in the background (its process group)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


@pytest.mark.parametrize("page", RUNNABLE)
def test_the_page_s_snippets_run_as_written(page, tmp_path):
    checkout = scratch_checkout(tmp_path)
    env = clean_environment()
    python_path = os.pathsep.join([str(checkout / "action"), str(checkout / "sandbox")])
    shell = Shell(checkout, env)
    try:
        for block in (b for b in BLOCKS[page] if b.language in RUN):
            if block.language == "bash":
                shell.run(block)
                continue
            done = subprocess.run(
                [sys.executable, "-c", block.text], cwd=checkout, capture_output=True, text=True,
                timeout=BLOCK_TIMEOUT, check=False,
                env={**env, "PYTHONPATH": python_path})
            assert done.returncode == 0, f"{block} failed:\n{done.stdout}{done.stderr}"
    finally:
        shell.close()


# -- YAML and JSON ---------------------------------------------------------------------------------

def parsed(language: str) -> list[tuple[Block, object]]:
    blocks = [b for page in BLOCKS.values() for b in page if b.language == language]
    load = yaml.safe_load if language == "yaml" else json.loads
    return [(block, load(block.text)) for block in blocks]


def test_json_blocks_parse():
    assert parsed("json")


def test_mermaid_charts_parse_with_the_mermaid_package():
    """As github.com draws them: a chart the mermaid package cannot parse shows as an error box."""
    charts = [b for page in BLOCKS.values() for b in page if b.language == "mermaid"]
    assert charts
    mermaid = ROOT / "tests" / "mermaid"
    done = subprocess.run(["node", str(mermaid / "check.mjs")], input=json.dumps([b.text for b in charts]),
                          text=True, capture_output=True, timeout=120, check=True, cwd=mermaid)
    results = json.loads(done.stdout)
    failed = [f"{block}: {result['error']}" for block, result in zip(charts, results, strict=True)
              if not result["ok"]]
    assert failed == []


def test_yaml_blocks_parse_and_whole_workflows_match_github_s_schema(tmp_path):
    workflows = []
    for block, document in parsed("yaml"):
        assert isinstance(document, dict), block
        if "jobs" in document and (True in document or "on" in document):  # YAML 1.1 reads `on` as true
            path = tmp_path / f"{block.page.replace('/', '_')}_{block.line}.yml"
            path.write_text(block.text, encoding="utf-8")
            workflows.append(path)
    assert workflows, "no whole workflow in the docs"
    done = subprocess.run([str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *map(str, workflows)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# -- links, repetition, length ------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"(`+).+?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes for a page."""
    found: set[str] = set()
    for _, line in split(path)[1]:
        heading = HEADING.match(line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[2].lower()).replace(" ", "-")
        unique, n = slug, 0
        while unique in found:
            n += 1
            unique = f"{slug}-{n}"
        found.add(unique)
    return found


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_links_resolve(page):
    for number, line in split(page)[1]:
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            assert linked.exists(), f"{name(page)}:{number}: {target} does not exist"
            if anchor:
                assert linked.suffix == ".md" and anchor in anchors(linked), (
                    f"{name(page)}:{number}: no heading makes #{anchor} in {name(linked)}")


def sentences(path: Path) -> set[str]:
    """The page's prose sentences of ten words or more (tables and code left out), normalised."""
    text = " ".join(line.strip() for _, line in split(path)[1] if not line.lstrip().startswith("|"))
    return {" ".join(s.split()).lower() for s in re.split(r"(?<=[.:;!?])\s+", text) if len(s.split()) >= 10}


def test_no_page_repeats_another():
    seen: dict[str, str] = {}
    for page in PAGES:
        for sentence in sentences(page):
            assert sentence not in seen, f"{name(page)} repeats {seen[sentence]}: {sentence!r}"
            seen[sentence] = name(page)


@pytest.mark.parametrize(("page", "package"), [("docs/development.md", "action/factory_sync"),
                                               ("docs/sandbox.md", "sandbox/github_double")])
def test_the_layout_table_names_every_module(page, package):
    """The page's `| module | what it holds |` table, first column, names each module once."""
    rows = [line for _, line in split(ROOT / page)[1] if line.startswith("| `")]
    named = [name for row in rows for name in re.findall(r"`([^`]+\.py)`", row.split("|")[1])]
    modules = sorted(path.name for path in (ROOT / package).glob("*.py") if path.name != "__init__.py")
    for module in modules:
        assert any(fnmatch(module, pattern) for pattern in named), f"{page}: add {module} to its table"
    for pattern in named:
        assert any(fnmatch(module, pattern) for module in modules), f"{page}: {pattern} is not in {package}"


def test_the_readme_s_development_section_names_every_module():
    row = next(line for line in section("README.md", "## Development").splitlines()
               if line.startswith("| `action/factory_sync/`"))
    named = set(re.findall(r"`([a-z_]+)`", row.split("|", 2)[2]))
    package = ROOT / "action" / "factory_sync"
    modules = {path.stem for path in package.glob("*.py")} - {"__init__", "__main__"}
    missing, extra = sorted(modules - named), sorted(named - modules)
    assert named == modules, f"README.md, Development: add {missing}, drop {extra}"


def section(page: str, heading: str) -> str:
    """The text of a page's section, from its heading to the next heading of any level."""
    text = (ROOT / page).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = text.find("\n#", start)
    return text[start:] if end < 0 else text[start:end]


def table_names(text: str) -> set[str]:
    """The `names` in the first column of the section's tables (several to a cell allowed)."""
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_the_readme_lists_every_input_and_output_of_the_action():
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert table_names(section("README.md", "## Inputs")) == set(action["inputs"])
    assert table_names(section("README.md", "## Outputs")) == set(action["outputs"])


def test_the_resync_page_names_every_input_secret_and_output_of_the_reusable_workflow():
    workflow = yaml.safe_load((ROOT / ".github/workflows/factory-resync.yml").read_text(encoding="utf-8"))
    call = workflow[True]["workflow_call"]  # YAML 1.1 reads the key `on` as true
    text = section("docs/resync.md", "## The reusable workflow")
    for name in [*call["inputs"], *call["secrets"], *call["outputs"]]:
        assert f"`{name}`" in text, f"docs/resync.md: the reusable workflow's {name!r} is not named"


def test_the_readme_keeps_what_the_hosted_app_promised():
    """The action replaced a hosted GitHub App whose README promised these; they still hold."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for promise in ("stage:", "JWT", "stateless", "secrets are never logged", "health check",
                    "## Troubleshooting"):
        assert promise in text, promise


def test_the_readme_is_short():
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines < README_LIMIT, f"README.md has {lines} lines; move detail to docs/"
