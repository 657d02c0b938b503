"""The one adapter to the GitHub Actions runner: inputs, standard variables, outputs and log commands.

Nothing else in the action reads the environment or prints workflow commands, so the rest of the
code can be run and tested without a runner.

Untrusted text (issue titles, label names, API messages) reaches the log only through `info`,
the data of a command, or the fallbacks printed when running by hand. Command data is escaped the
way the runner unescapes it. Plain lines are written as they are unless the runner could read them
as a command (`::name::` at the start of a line, or the legacy `##[name]` anywhere in it); such a
line has its `%`, `:` and `#` percent-escaped, so it shows up readable but inert. The check ignores
invisible and space characters first, because the runner matches command markers with
culture-aware string comparison, which skips some of them.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import sys
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from factory_sync.errors import FactorySyncError
from factory_sync.events import json_kind
from factory_sync.github_limits import EVENT_PAYLOAD_LIMIT
from factory_sync.model import DEFAULT_SERVER_URL

# Booleans as YAML 1.2's core schema spells them, as @actions/core's getBooleanInput accepts them.
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")

DEFAULT_API_URL = "https://api.github.com"

# A name the runner's file-command parser would split differently from what we meant.
_BAD_OUTPUT_NAME = re.compile(r"[=<\r\n]")


class InputError(FactorySyncError):
    """The workflow or the runner did not give the action what it needs; the message says how to fix it."""


def _escape_data(value: str) -> str:
    """Escape a command's message as the runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    """Escape a command property's value: also `:` and `,`, which delimit properties."""
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


# Letters and signs that ICU's collation ignores, as it does controls, format characters, marks and
# spaces: the Arabic tatweel, the NKo lajanyalan, the Mongolian nirugu, the Vedic sign nihshvasa and
# the Arabic tail fragment.
_IGNORED = frozenset("\u0640\u07fa\u180a\u1cd3\ufe73")


def _could_be_command(line: str) -> bool:
    # Drop what culture-aware matching may skip (controls, format characters, marks, spaces and the
    # letters above), erring towards escaping a harmless line rather than missing a command.
    skeleton = "".join(ch for ch in line if unicodedata.category(ch)[0] not in "CMZ" and ch not in _IGNORED)
    return skeleton.startswith("::") or "##[" in skeleton


def _defuse(line: str) -> str:
    """A single log line the runner will print as text, never act on."""
    if not _could_be_command(line):
        return line
    return line.replace("%", "%25").replace(":", "%3A").replace("#", "%23")


class Runner:
    """The runner as seen from inside the action's process.

    `env` is the process environment (`Runner.from_process()` passes the real one); `out` is where
    log lines and workflow commands go, standard output by default, as the runner reads them there.
    """

    def __init__(self, env: Mapping[str, str], out: TextIO | None = None) -> None:
        self._env = env
        self._out = out if out is not None else sys.stdout

    @classmethod
    def from_process(cls) -> Runner:
        # The runner reads a step's output as UTF-8, whatever Python would pick (an ANSI code page on
        # Windows, for one, which cannot write most study titles).
        if isinstance(sys.stdout, io.TextIOWrapper) and codecs.lookup(sys.stdout.encoding).name != "utf-8":
            sys.stdout.reconfigure(encoding="utf-8")
        return cls(os.environ, sys.stdout)

    # Inputs

    def input(self, name: str, required: bool = False, default: str = "") -> str:
        """The input `name` (as spelled in action.yml), stripped; `default` when empty."""
        value = self._env.get(_input_variable(name), "").strip()
        if value:
            return value
        if required:
            raise InputError(
                f"Input `{name}` is required and came through empty: set it under `with:` in the step that "
                "uses the action; if it is set from `vars.` or `secrets.`, check that a variable (or secret) "
                "of that name exists for this repository: a missing one, or a secret read as `vars.`, is "
                "empty."
            )
        return default

    def bool_input(self, name: str, default: bool) -> bool:
        value = self.input(name)
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise InputError(
            f"Input '{name}' must be a boolean, one of: {' | '.join(_TRUE + _FALSE)}; got '{value}'."
        )

    # Standard variables

    @property
    def event_name(self) -> str:
        return self._env.get("GITHUB_EVENT_NAME", "")

    def event(self) -> dict[str, Any]:
        """The payload of the event that started the workflow, from the file at GITHUB_EVENT_PATH."""
        path = self._env.get("GITHUB_EVENT_PATH", "")
        if not path:
            raise InputError(
                "GITHUB_EVENT_PATH is not set: run the action in a workflow job, "
                "or set it to the path of an event payload (JSON) when running by hand."
            )
        try:
            with open(path, "rb") as file:
                data = file.read(EVENT_PAYLOAD_LIMIT + 1)
            # A byte order mark is how some editors and shells start UTF-8 files written by hand.
            text = data.decode("utf-8-sig")
        except FileNotFoundError as error:
            raise InputError(f"The event payload file does not exist: {path} (GITHUB_EVENT_PATH).") from error
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"Cannot read the event payload {path} (GITHUB_EVENT_PATH): {error}.") from error
        if len(data) > EVENT_PAYLOAD_LIMIT:
            raise InputError(
                f"The event payload {path} (GITHUB_EVENT_PATH) is larger than {EVENT_PAYLOAD_LIMIT // 2**20} "
                "MB, GitHub's limit for an event: it is not an event GitHub sent."
            )
        if not text.strip():
            raise InputError(f"The event payload file is empty: {path} (GITHUB_EVENT_PATH).")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(
                f"The event payload {path} (GITHUB_EVENT_PATH) is not valid JSON: {error}."
            ) from error
        except RecursionError as error:
            raise InputError(
                f"The event payload {path} (GITHUB_EVENT_PATH) nests arrays or objects too deeply to read: "
                "it is not an event GitHub sent."
            ) from error
        except ValueError as error:  # not a JSONDecodeError: an integer of more digits than Python converts
            raise InputError(
                f"The event payload {path} (GITHUB_EVENT_PATH) holds a number with too many digits to read: "
                "it is not an event GitHub sent."
            ) from error
        if not isinstance(payload, dict):
            raise InputError(
                f"The event payload {path} (GITHUB_EVENT_PATH) is not a JSON object "
                f"but {json_kind(payload, document=True)}."
            )
        return payload

    @property
    def repository(self) -> str | None:
        """owner/name of the repository the workflow runs in."""
        return self._env.get("GITHUB_REPOSITORY") or None

    @property
    def api_url(self) -> str:
        return (self._env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")

    @property
    def server_url(self) -> str:
        return (self._env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")

    @property
    def run_id(self) -> str | None:
        return self._env.get("GITHUB_RUN_ID") or None

    @property
    def run_url(self) -> str | None:
        """The page of this workflow run, when the runner said which run it is."""
        if self.repository is None or self.run_id is None:
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def on_runner(self) -> bool:
        """Whether a GitHub Actions runner reads this output (it sets GITHUB_ACTIONS=true)."""
        return self._env.get("GITHUB_ACTIONS") == "true"

    @property
    def debug_enabled(self) -> bool:
        """Whether the run has step debug logging on (re-run with debug logging, or the variable)."""
        return self._env.get("RUNNER_DEBUG") == "1"

    # Outputs and the job summary

    def set_output(self, name: str, value: str) -> None:
        """Set a step output; any value, multi-line included, survives the runner's parsing unchanged."""
        if not name or _BAD_OUTPUT_NAME.search(name):
            raise ValueError(f"Not a usable output name: {name!r}")
        path = self._env.get("GITHUB_OUTPUT")
        if not path:
            self._print_by_hand("output", f"{name}={value}")
            return
        # A fresh random delimiter per value, as @actions/core does: the value cannot end it early.
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter in value:
            raise ValueError(f"The value of output {name} contains its delimiter")
        _append(path, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def summary(self, markdown: str) -> None:
        """Add Markdown to the job summary shown on the run's page."""
        path = self._env.get("GITHUB_STEP_SUMMARY")
        if not path:
            self._print_by_hand("summary", markdown)
            return
        _append(path, markdown if markdown.endswith("\n") else markdown + "\n")

    # Log lines and workflow commands

    def mask(self, secret: str) -> None:
        """Hide `secret` in the rest of the log. Call it before anything that could print the secret.

        The runner masks each log line on its own, so a multi-line secret (a PEM key) is
        registered line by line: the whole value would never match a single line. The runner
        never echoes `add-mask` commands; anywhere else (a terminal, a captured log) there is no
        one to consume them and they would print the secret, so they are sent only on a runner.
        """
        if not self.on_runner:
            return
        for line in secret.splitlines():
            if line.strip():
                self._command("add-mask", line.strip())

    def debug(self, message: str) -> None:
        """A line shown only when the run has debug logging on."""
        self._command("debug", message)

    def notice(self, message: str, title: str | None = None) -> None:
        self._annotation("notice", message, title)

    def warning(self, message: str, title: str | None = None) -> None:
        self._annotation("warning", message, title)

    def error(self, message: str, title: str | None = None) -> None:
        self._annotation("error", message, title)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section of the log; closed even when the body raises."""
        self._command("group", title)
        try:
            yield
        finally:
            self._command("endgroup", "")

    def info(self, text: str) -> None:
        """Plain log lines; text that looks like a workflow command is printed inert (see the module doc)."""
        for line in text.splitlines() or [""]:
            self._write(_defuse(line))

    def _annotation(self, kind: str, message: str, title: str | None) -> None:
        # The runner trims the properties and drops empty ones; doing it here keeps what is sent exact.
        title = (title or "").strip()
        self._command(kind, message, {"title": title} if title else {})

    def _command(self, name: str, data: str, properties: Mapping[str, str] | None = None) -> None:
        props = ",".join(f"{key}={_escape_property(value)}" for key, value in (properties or {}).items())
        self._write(f"::{name}{' ' + props if props else ''}::{_escape_data(data)}")

    def _print_by_hand(self, kind: str, text: str) -> None:
        # No runner file to write to: show what would have gone there, each line marked so it is not
        # mistaken for the action's own log lines.
        for line in text.splitlines() or [""]:
            self._write(_defuse(f"[{kind}] {line}"))

    def _write(self, line: str) -> None:
        # Flushed so commands keep their order relative to what the process writes to stderr.
        self._out.write(_encodable(line) + "\n")
        self._out.flush()


def _input_variable(name: str) -> str:
    # Composite steps get their inputs only through the step's env:, named this way in action.yml.
    return "INPUT_" + name.upper().replace("-", "_").replace(" ", "_")



def _append(path: str, text: str) -> None:
    # newline="" keeps "\n" as is on Windows too; the runner reads "\n" and "\r\n" alike.
    with open(path, "a", encoding="utf-8", newline="") as file:
        file.write(_encodable(text))


def _encodable(text: str) -> str:
    """The text, with any lone surrogate (JSON can carry one, UTF-8 cannot) replaced by "?"."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
