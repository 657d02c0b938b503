import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from factory_sync.github_limits import BODY_LIMIT
from factory_sync.markdown import escape
from factory_sync.model import IssueEvent, Study, StudyIssue
from factory_sync.stages import DEFAULT_CATALOG, assess
from factory_sync.tracking_block import (
    HISTORY_LIMIT,
    TRACKING_LABEL,
    BodyTooLarge,
    body_size,
    desired_labels,
    new_issue_title,
    render_block,
    shown_stage,
)
from factory_sync.tracking_body import (
    END_MARKER,
    DamagedBlock,
    adopt,
    begin_marker,
    names_study,
    same_block,
    shown_in_block,
    split_body,
)

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
RUN = "https://github.com/OHDSI/Factory/actions/runs/77"
BASE, PROTOCOL = DEFAULT_CATALOG.stages[0].label, DEFAULT_CATALOG.stages[1].label


def issue(number: int, *labels: str, title: str = "", open: bool = True, events=()) -> StudyIssue:
    closed = None if open else T0 + timedelta(days=number)
    url = f"https://github.com/OHDSI/Study/issues/{number}"
    return StudyIssue(number, title or f"Issue {number}", url, open, T0, closed, labels, tuple(events))


def event(kind: str, minutes: int, label: str | None = None, actor: str | None = "alice") -> IssueEvent:
    return IssueEvent(kind, T0 + timedelta(minutes=minutes), actor, label)


def study(*issues: StudyIssue) -> Study:
    return Study("OHDSI/Study", "https://github.com/OHDSI/Study", issues)


def block_for(the_study: Study, run_url: str | None = RUN, room: int = BODY_LIMIT) -> str:
    return render_block(the_study, assess(the_study, DEFAULT_CATALOG), run_url, room)


def table_rows(block: str) -> list[str]:
    return [line for line in block.split("\n") if line.startswith("| ") and "---" not in line][1:]


# --- escaping -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("plain title", "plain title"),
    ("line\nbreak\r\nand\ttab", "line break  and tab"),
    ("a | b", "a \\| b"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
    ("AT&T", "AT&amp;T"),
    ("ping @alice and @OHDSI/core", "ping @&#8203;alice and @&#8203;OHDSI/core"),
    ("fixes #12 and org/repo#3", "fixes #&#8203;12 and org/repo#&#8203;3"),
    ("# heading", "# heading"),
    ("`code` *em* _em_ ~~del~~ [link](x) \\",
     "\\`code\\` \\*em\\* \\_em\\_ \\~\\~del\\~\\~ \\[link\\]\\(x\\) \\\\"),
    ("<!-- factory-sync:end -->", "&lt;!-- factory-sync:end --&gt;"),
    ("abc\u202edcba\u2066x\u2069", "abcdcbax"),
    ("nul\x00 bell\x07", "nul bell"),
    ("  padded  ", "padded"),
    ("emoji 🧪 and zero\u200bwidth", "emoji 🧪 and zero\u200bwidth"),
])
def test_escape_makes_study_text_inert(text, shown):
    assert escape(text) == shown


def test_escape_truncates_long_text_with_an_ellipsis():
    assert escape("x" * 500) == "x" * 119 + "…"
    assert escape("y" * 120) == "y" * 120
    assert escape("abcdef", limit=4) == "abc…"


# --- rendering ------------------------------------------------------------------------------

def test_the_block_is_delimited_by_the_markers_on_their_own_lines():
    lines = block_for(study(issue(1, BASE))).split("\n")
    assert lines[0] == begin_marker("OHDSI/Study") == "<!-- factory-sync:begin study=OHDSI/Study -->"
    assert lines[-1] == END_MARKER == "<!-- factory-sync:end -->"


@pytest.mark.parametrize(("issues", "headline", "summary"), [
    ((), "## Current stage: Not started", "no issue carries a stage label yet"),
    ((issue(1, BASE, open=False), issue(2, PROTOCOL)), "## Current stage: Protocol Development",
     "stage 2 of 6"),
    ((issue(1, DEFAULT_CATALOG.stages[-1].label, open=False),), "## Current stage: Complete",
     "all 6 stages complete"),
])
def test_the_headline_names_the_current_stage(issues, headline, summary):
    lines = block_for(study(*issues)).split("\n")
    assert lines[1] == headline
    assert summary in lines[3]
    assert lines[3].startswith("Study [OHDSI/Study](https://github.com/OHDSI/Study)")


def test_shown_stage():
    assert shown_stage(assess(study(), DEFAULT_CATALOG)) == "Not started"
    assert shown_stage(assess(study(issue(1, PROTOCOL)), DEFAULT_CATALOG)) == "Protocol Development"


def test_the_table_has_a_row_per_stage_with_status_dates_and_issue_links():
    done = issue(1, BASE, title="Kick-off", open=False, events=[event("labeled", 0, BASE)])
    doing = issue(4, PROTOCOL, title="Write | protocol", events=[event("labeled", 60 * 24 * 3, PROTOCOL)])
    also = issue(2, PROTOCOL, title="Review")
    rows = table_rows(block_for(study(done, doing, also)))
    assert rows[0] == ("| Base Camp | ✅ complete | 2024-03-01 | 2024-03-02 | "
                       "[#1](https://github.com/OHDSI/Study/issues/1) Kick-off |")
    assert rows[1] == ("| **Protocol Development** | 🔄 in progress | 2024-03-01 |  | "
                       "[#2](https://github.com/OHDSI/Study/issues/2) Review<br>"
                       "[#4](https://github.com/OHDSI/Study/issues/4) Write \\| protocol |")
    assert rows[2] == "| Phenotype Development | ⚪ pending |  |  |  |"
    assert len(rows) == len(DEFAULT_CATALOG.stages)


def test_dates_are_utc():
    late_evening = datetime(2024, 3, 1, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    labelled = StudyIssue(1, "t", "https://github.com/OHDSI/Study/issues/1", True, late_evening, None,
                          (BASE,), (IssueEvent("labeled", late_evening, "alice", BASE),))
    block = block_for(study(labelled))
    assert "| 2024-03-02 |" in table_rows(block)[0]
    assert "2024-03-02 03:00 UTC" in block


def test_unknown_stage_labels_are_listed_escaped():
    block = block_for(study(issue(1, "stage:<b>x</b>"), issue(2, "stage:draft")))
    assert ("⚠️ Stage labels not in the catalog: <code>stage:&lt;b&gt;x&lt;/b&gt;</code>, "
            "<code>stage:draft</code>.") in block


def test_no_warning_without_unknown_labels():
    assert "not in the catalog" not in block_for(study(issue(1, BASE)))


def test_history_is_newest_first_with_actors_as_links_never_mentions():
    events = [event("labeled", 0, BASE, "alice"), event("closed", 30, actor="bob"),
              event("reopened", 45, actor=None), event("unlabeled", 50, BASE, "github-actions[bot]"),
              event("labeled", 55, "bug", "carol")]
    block = block_for(study(issue(7, BASE, events=events)))
    link = "[#7](https://github.com/OHDSI/Study/issues/7)"
    history = block.split("### History\n\n")[1].split("\n\n")[0].split("\n")
    assert history == [
        f"- 2024-03-01 10:20 UTC: <code>stage:base-camp</code> removed from {link} by "
        "[github-actions\\[bot\\]](https://github.com/apps/github-actions)",
        f"- 2024-03-01 10:15 UTC: {link} reopened by [ghost](https://github.com/ghost)",
        f"- 2024-03-01 10:00 UTC: {link} closed by [bob](https://github.com/bob)",
        f"- 2024-03-01 09:30 UTC: <code>stage:base-camp</code> added to {link} by [alice](https://github.com/alice)",
    ]
    assert not re.search(r"@\w", block)


def test_actor_links_use_the_study_host():
    events = [event("labeled", 0, BASE, "alice")]
    issues = (issue(1, BASE, events=events),)
    enterprise = Study("OHDSI/Study", "https://github.example.org/OHDSI/Study", issues)
    assert "[alice](https://github.example.org/alice)" in block_for(enterprise)


def test_history_shows_at_most_the_limit_and_counts_the_rest():
    events = [event("labeled" if n % 2 == 0 else "unlabeled", n, BASE) for n in range(HISTORY_LIMIT + 5)]
    block = block_for(study(issue(1, BASE, events=events)))
    entries = [line for line in block.split("\n") if line.startswith("- 2024")]
    assert len(entries) == HISTORY_LIMIT
    assert entries[0].startswith("- 2024-03-01 09:54 UTC")
    assert "- … and 5 earlier events not shown" in block
    assert "trimmed" not in block


def test_an_empty_history_says_so():
    assert "No stage events yet." in block_for(study(issue(1, BASE)))


def test_the_last_line_before_the_end_marker_links_the_run():
    lines = block_for(study(issue(1, BASE))).split("\n")
    assert lines[-2] == f"<sub>Written by factory-sync in [this run]({RUN}).</sub>"
    assert block_for(study(), run_url=None).split("\n")[-2] == "<sub>Written by factory-sync.</sub>"


def test_urls_cannot_break_out_of_their_links():
    assert "[this run](https://x/a%20b%29%3Cc%3E)" in block_for(study(), run_url="https://x/a b)<c>")


def test_rendering_is_deterministic():
    events = [event("labeled", 5, BASE), event("closed", 5, actor="bob")]
    one = study(issue(3, BASE, events=events), issue(1, PROTOCOL, events=events))
    other = study(issue(1, PROTOCOL, events=list(reversed(events))), issue(3, BASE, events=events))
    assert block_for(one) == block_for(one) == block_for(other)


def test_history_is_trimmed_oldest_first_to_fit_the_room():
    events = [event("labeled", n, BASE) for n in range(10)]
    the_study = study(issue(1, BASE, events=events))
    full = block_for(the_study)
    trimmed = block_for(the_study, room=body_size(full) - 1)
    assert body_size(trimmed) < body_size(full)
    assert "2024-03-01 09:39 UTC" in trimmed
    assert "2024-03-01 09:30 UTC" not in trimmed
    assert "- … and 1 earlier event not shown (history trimmed to fit GitHub's size limit)" in trimmed


def test_a_block_that_cannot_fit_even_without_history_is_an_error():
    the_study = study(issue(1, BASE, events=[event("labeled", 0, BASE)]))
    with pytest.raises(BodyTooLarge, match="shorten the text outside the block"):
        block_for(the_study, room=200)


def test_body_size_counts_utf16_units():
    assert body_size("abc") == 3
    assert body_size("🧪") == 2


# --- reading bodies -------------------------------------------------------------------------

BLOCK = f"{begin_marker('OHDSI/Study')}\n## Current stage: Base Camp\n{END_MARKER}"


def test_a_body_without_markers_is_all_before():
    assert split_body("just notes\n") == ("just notes\n", None, "")


@pytest.mark.parametrize(("before", "after"), [
    ("", ""),
    ("Notes by the coordinator.\n\n", "\n\nMore notes.\n"),
    ("windows\r\nlines\r\n", "\r\ntrailing\r\n"),
    ("```\n<!-- factory-sync:end -->\n```\n", "\n~~~~ text\n<!-- factory-sync:begin study=x/y -->\n~~~~\n"),
    ("> <!-- factory-sync:begin study=a/b -->\n", "\nsee `<!-- factory-sync:end -->` above"),
])
def test_split_returns_the_block_and_the_text_around_it_byte_for_byte(before, after):
    assert split_body(before + BLOCK + after) == (before, BLOCK, after)


def test_a_block_with_windows_line_endings_is_found():
    block = BLOCK.replace("\n", "\r\n")
    assert split_body("x\r\n" + block + "\r\n") == ("x\r\n", block, "\r\n")


def test_marker_lines_may_have_indentation_up_to_three_spaces_and_trailing_spaces():
    body = "   <!--  factory-sync:begin study=a/b  -->  \nx\n<!-- factory-sync:end -->\t\n"
    before, block, after = split_body(body)
    assert (before, after) == ("", "\n")
    assert block.endswith("-->\t")


@pytest.mark.parametrize(("body", "says"), [
    (BLOCK + "\n" + BLOCK, "has 2 factory-sync begin markers; delete all but one block"),
    (BLOCK + "\n" + END_MARKER, "has 2 factory-sync end markers"),
    (begin_marker("a/b") + "\nrest", "begin marker but no end marker; put '<!-- factory-sync:end -->'"),
    ("text\n" + END_MARKER, "end marker but no begin marker; put '<!-- factory-sync:begin study=OWNER/REPO "
                            "-->' back on its own line above the block's first line ('## Current stage: "),
    (END_MARKER + "\n" + begin_marker("a/b"), "end marker before the begin marker"),
    ("<!-- factory-sync:begin -->\n" + END_MARKER, "begin marker without the study"),
])
def test_damaged_blocks_are_explained(body, says):
    with pytest.raises(DamagedBlock, match=re.escape(says)):
        split_body(body)


def test_a_block_swallowed_by_a_fence_that_is_never_closed_is_found_and_explained():
    body = "Notes\n```\n" + BLOCK + "\n"
    assert names_study(body) == "OHDSI/Study"
    with pytest.raises(DamagedBlock, match=r"block of OHDSI/Study is inside a code block that is never "
                                           r"closed \(the fence on line 2 of the tracking issue\)"):
        split_body(body)


def test_a_quoted_block_in_a_closed_fence_is_quoted_text():
    body = "Like this:\n```\n" + BLOCK + "\n```\n"
    assert split_body(body) == (body, None, "")
    assert names_study(body) is None


SUMMARY = "Study [OHDSI/My\\_Study](https://github.com/OHDSI/My_Study): stage 2 of 6."


def test_a_block_whose_begin_marker_was_deleted_names_its_study_by_its_summary_line():
    body = f"Notes\n## Current stage: Base Camp\n\n{SUMMARY}\n{END_MARKER}\n"
    assert names_study(body) == "OHDSI/My_Study"
    with pytest.raises(DamagedBlock, match=re.escape(f"put '{begin_marker('OHDSI/My_Study')}' back")):
        split_body(body)


def test_a_block_whose_markers_were_both_deleted_is_explained():
    body = f"Notes\n## Current stage: Base Camp\n\n{SUMMARY}\n\nMore notes\n"
    assert names_study(body) == "OHDSI/My_Study"
    with pytest.raises(DamagedBlock, match="what is left of the factory-sync block of OHDSI/My_Study "):
        split_body(body)


@pytest.mark.parametrize("line", [
    SUMMARY.replace("stage 2 of 6.", "stage 2 of 6"), "> " + SUMMARY, "    " + SUMMARY, f"`{SUMMARY}`",
    SUMMARY.replace("](https://github.com/OHDSI/My_Study)", ""), "```\n" + SUMMARY + "\n```"])
def test_text_that_only_looks_like_a_summary_line_names_no_study(line):
    assert names_study(f"Notes\n{line}\n") is None
    assert split_body(f"Notes\n{line}\n") == (f"Notes\n{line}\n", None, "")


def test_a_fence_closes_only_with_the_same_character_and_at_least_its_length():
    body = "````\n```\n~~~~\n" + BLOCK + "\n````\n"
    assert split_body(body) == (body, None, "")


def test_names_study_reads_the_begin_marker():
    assert names_study("intro\n" + BLOCK) == "OHDSI/Study"


@pytest.mark.parametrize("line", [
    "**Repository:** https://github.com/OHDSI/Study",
    "**Repository:** https://github.com/OHDSI/Study/",
    "**Repository:** https://github.com/OHDSI/Study.git",
    "**repository:**   http://GitHub.example.org/OHDSI/Study",
    "- **Repository:** https://github.com/OHDSI/Study (moved)",
])
def test_names_study_reads_the_old_format_repository_line(line):
    body = f"## Study\n\n**Lead:** someone\n{line}\r\n**Status:** active\n"
    assert names_study(body) == "OHDSI/Study"


def test_old_format_names_keep_dots_in_repo_names():
    assert names_study("**Repository:** https://github.com/o/name.with.dots.git/") == "o/name.with.dots"


def test_the_begin_marker_wins_over_an_old_format_line():
    assert names_study("**Repository:** https://github.com/old/name\n\n" + BLOCK) == "OHDSI/Study"


@pytest.mark.parametrize("body", ["", "no study here", "**Repository:** OHDSI/Study",
                                  "```\n**Repository:** https://github.com/OHDSI/Study\n```"])
def test_names_study_is_none_without_a_study(body):
    assert names_study(body) is None


def test_shown_in_block_reads_the_headline():
    assert shown_in_block(BLOCK) == "Base Camp"
    assert shown_in_block(BLOCK.replace("\n", "\r\n")) == "Base Camp"
    assert shown_in_block(begin_marker("a/b") + "\n" + END_MARKER) is None


def test_same_block_ignores_only_the_run_link_and_line_endings():
    the_study = study(issue(1, BASE))
    first = block_for(the_study, run_url="https://x/runs/1")
    assert same_block(first, block_for(the_study, run_url="https://x/runs/2"))
    assert same_block(first, block_for(the_study, run_url=None))
    assert same_block(first, first.replace("\n", "\r\n"))
    assert not same_block(first, block_for(study(issue(1, BASE, title="Renamed"))))
    assert not same_block(first, first.replace("| **Base Camp** |", "| **Base camp** |"))


@pytest.mark.parametrize(("body", "adopted"), [
    ("", ""),
    ("text", "text\n\n"),
    ("text\n", "text\n\n"),
    ("text\n\n", "text\n\n"),
    ("text\r\n\r\n", "text\r\n\r\n"),
])
def test_adopt_keeps_the_old_body_and_adds_a_blank_line(body, adopted):
    assert adopt(body) == adopted


def test_adopt_refuses_a_body_that_ends_inside_a_code_block():
    with pytest.raises(DamagedBlock, match="unclosed code block"):
        adopt("**Repository:** https://github.com/a/b\n```yaml\nkey: value\n")


# --- labels and title -----------------------------------------------------------------------

def progress_at(*labels: str):
    return assess(study(*(issue(n, label) for n, label in enumerate(labels, 1))), DEFAULT_CATALOG)


def test_desired_labels_keep_other_labels_in_order_and_carry_one_current_stage():
    current = ["priority", BASE, "study-tracking", "stage:draft", "help wanted"]
    wanted = ["priority", "study-tracking", "help wanted", PROTOCOL]
    assert desired_labels(current, progress_at(PROTOCOL)) == wanted


def test_desired_labels_add_the_tracking_label_and_keep_its_spelling():
    assert desired_labels([], progress_at(BASE)) == [TRACKING_LABEL, BASE]
    assert desired_labels(["Study-Tracking"], progress_at(BASE)) == ["Study-Tracking", BASE]
    assert desired_labels(["x"], progress_at(BASE), "portfolio") == ["x", "portfolio", BASE]


def test_desired_labels_keep_the_spelling_of_a_current_stage_label_already_there():
    assert desired_labels(["Stage:Base-Camp"], progress_at(BASE)) == [TRACKING_LABEL, "Stage:Base-Camp"]


def test_a_study_that_has_not_started_carries_no_stage_label():
    assert desired_labels([BASE, "study-tracking"], progress_at()) == ["study-tracking"]


def test_new_issue_title_names_the_repo():
    assert new_issue_title("OHDSI/Study") == "Study: OHDSI/Study"
