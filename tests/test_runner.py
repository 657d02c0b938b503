"""The runner adapter, checked against the runner's own reading of what the action writes."""

from __future__ import annotations

import io
import json
import re
import unicodedata
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from factory_sync.errors import FactorySyncError
from factory_sync.runner import InputError, Runner

ACTION = yaml.safe_load((Path(__file__).parent.parent / "action.yml").read_text(encoding="utf-8"))

# Commands the runner acts on; anything else after `::` is printed as text.
RUNNER_COMMANDS = {
    "add-mask", "add-matcher", "debug", "echo", "endgroup", "error", "group", "notice",
    "remove-matcher", "save-state", "set-env", "set-output", "stop-commands", "warning",
}  # fmt: skip


def parse_file_command(text: str, windows: bool = False) -> dict[str, str]:
    """The runner's parser of GITHUB_OUTPUT (SetEnvFileCommand), line for line."""
    values: dict[str, str] = {}
    index = 0

    def read_line() -> tuple[str | None, str]:
        nonlocal index
        if index >= len(text):
            return None, ""
        start = index
        lf = text.find("\n", index)
        if lf < 0:
            index = len(text)
            return text[start:], ""
        crlf = text.find("\r\n", index)
        if windows and 0 <= crlf < lf:
            index = crlf + 2
            return text[start:crlf], "\r\n"
        index = lf + 1
        return text[start:lf], "\n"

    line, _ = read_line()
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                name, value = line.split("=", 1)
                values[name] = value
            elif heredoc >= 0 and (equals < 0 or heredoc < equals):
                name, delimiter = line.split("<<", 1)
                assert name and delimiter
                start = end = index
                temp, newline = read_line()
                while temp != delimiter:
                    assert temp is not None, f"matching delimiter not found: {delimiter}"
                    end = index - len(newline)
                    temp, newline = read_line()
                values[name] = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"invalid format: {line!r}")
        line, _ = read_line()
    return values


def unescape(value: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mappings:
        value = value.replace(replacement, token)
    return value


DATA_MAPPINGS = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
PROPERTY_MAPPINGS = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))


def parse_command(line: str, lenient: bool = False) -> tuple[str, dict[str, str], str] | None:
    """The runner's reading of a log line (ActionCommand.TryParseV2, then the legacy TryParse).

    `lenient` first drops the characters that culture-aware comparison may skip, as the worst case.
    """
    if lenient:
        line = "".join(ch for ch in line if unicodedata.category(ch) not in ("Cc", "Cf"))
    trimmed = line.lstrip()
    if trimmed.startswith("::"):
        end = trimmed.find("::", 2)
        if end >= 0:
            name, _, props = trimmed[2:end].partition(" ")
            if name.lower() in RUNNER_COMMANDS:
                properties = {}
                for pair in filter(None, props.strip().split(",")):
                    key, sep, value = pair.partition("=")
                    if sep and key and value:
                        properties[key] = unescape(value, PROPERTY_MAPPINGS)
                return name, properties, unescape(trimmed[end + 2 :], DATA_MAPPINGS)
    start = line.find("##[")
    if start >= 0 and line.find("]", start) >= 0:
        name = line[start + 3 : line.find("]", start)].partition(" ")[0]
        if name.lower() in RUNNER_COMMANDS:
            return name, {}, line[line.find("]", start) + 1 :]
    return None


def runner(env: dict[str, str] | None = None) -> tuple[Runner, io.StringIO]:
    out = io.StringIO()
    return Runner(env or {}, out), out


def commands(out: io.StringIO, lenient: bool = False) -> list[tuple[str, dict[str, str], str] | None]:
    # The runner ends a line at "\n", "\r\n" or "\r" only.
    lines = re.split(r"\r\n|\r|\n", out.getvalue().removesuffix("\n"))
    return [parse_command(line, lenient) for line in lines]


# Inputs


def test_input_reads_the_variable_named_like_the_runner_names_it() -> None:
    run, _ = runner({"INPUT_FACTORY_REPO": "  ohdsi/Factory \n", "INPUT_DRY_RUN": "true"})
    assert run.input("factory-repo") == "ohdsi/Factory"
    assert run.input("dry-run") == "true"


def test_input_defaults_when_unset_or_blank() -> None:
    run, _ = runner({"INPUT_STAGES": "   "})
    assert run.input("stages") == ""
    assert run.input("stages", default="stages.yml") == "stages.yml"
    assert run.input("missing", default="x") == "x"


def test_required_input_missing_says_which_and_how_to_fix() -> None:
    run, _ = runner({"INPUT_FACTORY_REPO": " "})
    with pytest.raises(InputError) as raised:
        run.input("factory-repo", required=True)
    assert str(raised.value).startswith("Input `factory-repo` is required and came through empty")
    assert "under `with:`" in str(raised.value)
    assert "a secret read as `vars.`" in str(raised.value)


@pytest.mark.parametrize("text", ["true", "True", "TRUE", " true "])
def test_bool_input_true(text: str) -> None:
    assert runner({"INPUT_CREATE_MISSING": text})[0].bool_input("create-missing", default=False) is True


@pytest.mark.parametrize("text", ["false", "False", "FALSE"])
def test_bool_input_false(text: str) -> None:
    assert runner({"INPUT_CREATE_MISSING": text})[0].bool_input("create-missing", default=True) is False


def test_input_errors_are_shown_like_every_expected_failure() -> None:
    assert issubclass(InputError, FactorySyncError)


def test_action_yml_passes_every_input_under_the_name_input_reads() -> None:
    [step] = [step for step in ACTION["runs"]["steps"] if step.get("id") == "sync"]
    passed = {value: name for name, value in step["env"].items() if name.startswith("INPUT_")}
    assert len(passed) == len(ACTION["inputs"])
    for name in ACTION["inputs"]:
        variable = passed[f"${{{{ inputs.{name} }}}}"]
        assert runner({variable: "given"})[0].input(name) == "given"


def test_action_yml_outputs_come_from_the_sync_step() -> None:
    for name, output in ACTION["outputs"].items():
        assert output["value"] == f"${{{{ steps.sync.outputs.{name} }}}}"


def test_action_yml_scripts_take_no_expressions() -> None:
    # Expressions in a script are pasted in before bash runs it: values go through env: instead.
    assert all("${{" not in step["run"] for step in ACTION["runs"]["steps"])


def test_bool_input_default_when_unset() -> None:
    assert runner()[0].bool_input("dry-run", default=True) is True
    assert runner()[0].bool_input("dry-run", default=False) is False


@pytest.mark.parametrize("text", ["yes", "1", "on", "tRue", "false!"])
def test_bool_input_rejects_other_spellings_naming_input_and_choices(text: str) -> None:
    with pytest.raises(InputError) as raised:
        runner({"INPUT_DRY_RUN": text})[0].bool_input("dry-run", default=False)
    message = str(raised.value)
    assert "'dry-run'" in message
    assert "true | True | TRUE | false | False | FALSE" in message
    assert f"'{text}'" in message


# Standard variables


def test_standard_variables() -> None:
    run, _ = runner(
        {
            "GITHUB_EVENT_NAME": "issues",
            "GITHUB_REPOSITORY": "ohdsi/StudyA",
            "GITHUB_API_URL": "https://ghe.example.org/api/v3/",
            "GITHUB_SERVER_URL": "https://ghe.example.org",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "2",
            "RUNNER_DEBUG": "1",
        }
    )
    assert run.event_name == "issues"
    assert run.repository == "ohdsi/StudyA"
    assert run.api_url == "https://ghe.example.org/api/v3"
    assert run.server_url == "https://ghe.example.org"
    assert run.run_id == "42"
    assert run.run_url == "https://ghe.example.org/ohdsi/StudyA/actions/runs/42"
    assert run.debug_enabled is True


def test_standard_variables_unset() -> None:
    run, _ = runner()
    assert run.event_name == ""
    assert run.repository is None
    assert run.api_url == "https://api.github.com"
    assert run.server_url == "https://github.com"
    assert run.run_id is None
    assert run.run_url is None
    assert run.debug_enabled is False


def test_run_url_needs_both_repository_and_run_id() -> None:
    assert runner({"GITHUB_RUN_ID": "1"})[0].run_url is None
    assert runner({"GITHUB_REPOSITORY": "o/r"})[0].run_url is None
    assert runner({"GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "1"})[0].run_url == (
        "https://github.com/o/r/actions/runs/1"
    )


def test_event_payload(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "labeled", "label": {"name": "stage: design"}}), encoding="utf-8")
    run, _ = runner({"GITHUB_EVENT_PATH": str(path)})
    assert run.event() == {"action": "labeled", "label": {"name": "stage: design"}}


def test_event_payload_path_unset() -> None:
    with pytest.raises(InputError, match="GITHUB_EVENT_PATH is not set"):
        runner()[0].event()


def test_event_payload_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"does not exist: .*nothing\.json"):
        runner({"GITHUB_EVENT_PATH": str(tmp_path / "nothing.json")})[0].event()


def test_event_payload_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannot read the event payload"):
        runner({"GITHUB_EVENT_PATH": str(tmp_path)})[0].event()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        (" \n", "is empty"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "not a JSON object but an array"),
        ('"text"', "not a JSON object but a string"),
        ("3", "not a JSON object but a number"),
        ("true", "not a JSON object but a boolean"),
        ("null", "not a JSON object but null"),
    ],
)
def test_event_payload_not_an_object(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        runner({"GITHUB_EVENT_PATH": str(path)})[0].event()


def test_event_payload_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(b'{"title": "\xff"}')
    with pytest.raises(InputError, match="Cannot read the event payload"):
        runner({"GITHUB_EVENT_PATH": str(path)})[0].event()


def test_event_payload_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(b'\xef\xbb\xbf{"action": "labeled"}')
    assert runner({"GITHUB_EVENT_PATH": str(path)})[0].event() == {"action": "labeled"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests arrays or objects too deeply to read"),
        (b'{"n": ' + b"1" * 5_000 + b"}", "holds a number with too many digits to read"),
        (b" " * (25 * 2**20 + 1), "is larger than 25 MB, GitHub's limit for an event"),
    ],
)
def test_event_payload_no_runner_would_write(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        runner({"GITHUB_EVENT_PATH": str(path)})[0].event()


def test_text_utf8_cannot_carry_is_written_all_the_same(tmp_path: Path) -> None:
    """JSON can carry a lone surrogate (`"\\ud800"`); UTF-8 cannot, so it is written as "?"."""
    summary = tmp_path / "summary.md"
    run, out = runner({"GITHUB_STEP_SUMMARY": str(summary)})
    run.info("label '\ud800'")
    run.notice("x\udfffy")
    run.summary("a\ud800b")
    assert out.getvalue() == "label '?'\n::notice::x?y\n"
    assert summary.read_text(encoding="utf-8") == "a?b\n"


# Outputs


def test_outputs_are_appended_and_read_back_as_the_runner_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=step\n", encoding="utf-8")
    run, out = runner({"GITHUB_OUTPUT": str(path)})
    run.set_output("factory-issue-number", "12")
    run.set_output("stage", "design\nreview <<EOF\n=x\nEOF")
    run.set_output("changed", "")
    assert parse_file_command(path.read_text(encoding="utf-8")) == {
        "earlier": "step",
        "factory-issue-number": "12",
        "stage": "design\nreview <<EOF\n=x\nEOF",
        "changed": "",
    }
    assert out.getvalue() == ""


output_values = st.text(st.characters(codec="utf-8"))


@given(value=output_values)
def test_any_output_value_survives_the_runner(tmp_path_factory: pytest.TempPathFactory, value: str) -> None:
    path = tmp_path_factory.mktemp("output") / "output"
    runner({"GITHUB_OUTPUT": str(path)})[0].set_output("stage", value)
    with open(path, encoding="utf-8", newline="") as file:
        text = file.read()
    assert parse_file_command(text) == {"stage": value}
    # On Windows the runner also ends lines at "\r\n", so only a value's own final "\r" is lost.
    assert parse_file_command(text, windows=True) == {"stage": value.removesuffix("\r")}


def test_output_delimiter_is_fresh_for_each_value(tmp_path: Path) -> None:
    path = tmp_path / "output"
    run, _ = runner({"GITHUB_OUTPUT": str(path)})
    run.set_output("a", "1")
    run.set_output("b", "2")
    headers = [line for line in path.read_text(encoding="utf-8").splitlines() if "<<" in line]
    assert len({header.split("<<")[1] for header in headers}) == 2


def test_output_value_holding_its_delimiter_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = uuid.UUID(int=7)
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    path = tmp_path / "output"
    run, _ = runner({"GITHUB_OUTPUT": str(path)})
    with pytest.raises(ValueError, match="contains its delimiter"):
        run.set_output("stage", f"x\nghadelimiter_{fixed}\ny")
    assert not path.exists()


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb", "a\rb"])
def test_output_name_the_runner_would_misread_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="Not a usable output name"):
        runner({"GITHUB_OUTPUT": str(tmp_path / "output")})[0].set_output(name, "1")


def test_outputs_are_printed_when_not_on_a_runner() -> None:
    run, out = runner()
    run.set_output("changed", "true")
    run.set_output("stage", "a\n::add-mask::b")
    assert out.getvalue() == "[output] changed=true\n[output] stage=a\n[output] ::add-mask::b\n"
    assert commands(out, lenient=True) == [None, None, None]


# Job summary


def test_summary_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    run, out = runner({"GITHUB_STEP_SUMMARY": str(path)})
    run.summary("## Study\n")
    run.summary("| a | b |")
    assert path.read_text(encoding="utf-8") == "## Study\n| a | b |\n"
    assert out.getvalue() == ""


def test_summary_is_printed_when_not_on_a_runner() -> None:
    run, out = runner()
    run.summary("## Study\n\n##[group]x")
    assert out.getvalue() == "[summary] ## Study\n[summary] \n[summary] %23%23[group]x\n"
    assert commands(out, lenient=True) == [None, None, None]


# Workflow commands


def test_mask_registers_each_line_of_a_multi_line_secret() -> None:
    run, out = runner({"GITHUB_ACTIONS": "true"})
    run.mask("-----BEGIN KEY-----\r\nabc%def\n\n   \nxyz \n-----END KEY-----\n")
    assert out.getvalue().splitlines() == [
        "::add-mask::-----BEGIN KEY-----",
        "::add-mask::abc%25def",
        "::add-mask::xyz",
        "::add-mask::-----END KEY-----",
    ]
    assert [command[2] for command in commands(out) if command] == [
        "-----BEGIN KEY-----",
        "abc%def",
        "xyz",
        "-----END KEY-----",
    ]


def test_mask_of_nothing_prints_nothing() -> None:
    run, out = runner({"GITHUB_ACTIONS": "true"})
    run.mask("")
    run.mask(" \n")
    assert out.getvalue() == ""


def test_mask_off_a_runner_never_prints_the_secret() -> None:
    # No runner consumes the command there: printing it would put the secret on the terminal.
    run, out = runner()
    run.mask("ghs_secretvalue")
    assert out.getvalue() == ""


def test_annotations() -> None:
    run, out = runner()
    run.notice("Synced")
    run.warning("Label 50%\ndone", title="Stage: unknown, skipped")
    run.error("Boom", title="Sync failed")
    assert out.getvalue().splitlines() == [
        "::notice::Synced",
        "::warning title=Stage%3A unknown%2C skipped::Label 50%25%0Adone",
        "::error title=Sync failed::Boom",
    ]
    assert commands(out) == [
        ("notice", {}, "Synced"),
        ("warning", {"title": "Stage: unknown, skipped"}, "Label 50%\ndone"),
        ("error", {"title": "Sync failed"}, "Boom"),
    ]


def test_debug() -> None:
    run, out = runner()
    run.debug("payload:\n{}")
    assert out.getvalue() == "::debug::payload:%0A{}\n"


@given(message=st.text(), title=st.text())
def test_annotation_round_trip(message: str, title: str) -> None:
    run, out = runner()
    run.warning(message, title=title)
    [(name, properties, data)] = commands(out)
    assert (name, data) == ("warning", message)
    expected = {"title": title.strip()} if title.strip() else {}
    assert properties == expected


def test_group_closes_even_when_the_body_raises() -> None:
    run, out = runner()
    with run.group("Study ohdsi/StudyA"):
        run.info("reading")
    with pytest.raises(RuntimeError), run.group("Factory\nissue"):
        raise RuntimeError("boom")
    assert out.getvalue().splitlines() == [
        "::group::Study ohdsi/StudyA",
        "reading",
        "::endgroup::",
        "::group::Factory%0Aissue",
        "::endgroup::",
    ]


def test_info_prints_ordinary_text_unchanged() -> None:
    run, out = runner()
    run.info("Stage: design -> review\nhttps://github.com/o/r::x 100%\n# heading\n")
    run.info("")
    assert out.getvalue() == "Stage: design -> review\nhttps://github.com/o/r::x 100%\n# heading\n\n"


@pytest.mark.parametrize(
    ("line", "printed"),
    [
        ("::add-mask::x", "%3A%3Aadd-mask%3A%3Ax"),
        ("  ::warning::50%", "  %3A%3Awarning%3A%3A50%25"),
        ("\u200b::stop-commands::t", "\u200b%3A%3Astop-commands%3A%3At"),
        ("title ##[group]x", "title %23%23[group]x"),
        ("#\u00ad#[endgroup]", "%23\u00ad%23[endgroup]"),
    ],
)
def test_info_escapes_lines_the_runner_would_act_on(line: str, printed: str) -> None:
    run, out = runner()
    run.info(line)
    assert out.getvalue() == printed + "\n"


@given(text=st.text())
def test_info_never_issues_a_command(text: str) -> None:
    run, out = runner()
    run.info(text)
    assert commands(out, lenient=True) == [None] * len(text.splitlines() or [""])


def test_from_process_reads_the_real_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_FACTORY_REPO", "ohdsi/Factory")
    assert Runner.from_process().input("factory-repo") == "ohdsi/Factory"


def test_writes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    Runner({}).notice("hello")
    assert capsys.readouterr().out == "::notice::hello\n"
