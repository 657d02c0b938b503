"""Properties of the core that must hold for any study or payload, however hostile."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actionkit import cells
from factory_sync.events import EventError, Trigger, parse_study_event
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.model import IssueEvent, Study, StudyIssue, TrackingIssue, is_repo_name
from factory_sync.planner import Action, Plan, Policy, plan
from factory_sync.stages import DEFAULT_CATALOG, assess
from factory_sync.tracking_block import body_size, render_block
from factory_sync.tracking_body import END_MARKER, DamagedBlock, begin_marker, names_study, split_body

FAST = settings(max_examples=150, deadline=None)
FEWER = settings(max_examples=60, deadline=None)  # for properties that plan several studies each

T0 = datetime(2024, 1, 1, tzinfo=UTC)
RUN_1 = "https://github.com/OHDSI/Factory/actions/runs/1"
RUN_2 = "https://github.com/OHDSI/Factory/actions/runs/2"

HOSTILE = [
    "<!-- factory-sync:begin study=evil/repo -->", "<!-- factory-sync:end -->", "\n<!-- factory-sync:end -->",
    "<!--", "-->", "<script>alert(1)</script>", "@user", "@org/team", "|", "||", "\\|", "\\", "`", "```",
    "~~~", "[x](javascript:alert(1))", "*", "_", "#1", "&#64;", "&", "\u202e", "\u2066", "\u200b", "\u200d",
    "\ufeff", "🧪", "👩‍🔬", "\r\n", "\n", "\u2028", "\x00", "A" * 10_000,
]
hostile_text = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=12), max_size=6).map("".join)
labels = st.sampled_from([stage.label for stage in DEFAULT_CATALOG.stages]
                         + ["Stage:Base-Camp", "stage:draft", "stage:<!--x-->|@a", "stage:`x`"])
moments = st.integers(0, 60 * 24 * 30).map(lambda minutes: T0 + timedelta(minutes=minutes))
kinds = st.sampled_from(["labeled", "unlabeled", "closed", "reopened"])
events = st.builds(IssueEvent, kind=kinds, at=moments,
                   actor=st.none() | st.sampled_from(["alice", "bot[bot]"]) | hostile_text,
                   label=st.none() | labels | hostile_text)


# Repository names as GitHub allows them: underscores and dots too, which escaping must survive.
repo_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,12}/[A-Za-z0-9_.-]{1,20}", fullmatch=True).filter(
    is_repo_name)
ONE_REPO = st.just("OHDSI/Study")


@st.composite
def studies(draw, titles=hostile_text, repos=ONE_REPO) -> Study:
    repo = draw(repos)
    numbers = draw(st.lists(st.integers(1, 500), unique=True, max_size=8))
    issues = []
    for number in numbers:
        is_open = draw(st.booleans())
        created = draw(moments)
        issues.append(StudyIssue(
            number=number,
            title=draw(titles),
            url=f"https://github.com/{repo}/issues/{number}",
            open=is_open,
            created_at=created,
            closed_at=None if is_open else draw(st.none() | moments),
            labels=tuple(draw(st.lists(labels, unique_by=str.lower, max_size=3))),
            events=tuple(sorted(draw(st.lists(events, max_size=6)), key=lambda event: event.at)),
        ))
    return Study(repo, f"https://github.com/{repo}", tuple(issues))


# Text people write around the block: anything but code fences and our markers.
people_text = st.text(st.characters(blacklist_characters="`~<", blacklist_categories=("Cs",)), max_size=200)


def plan_for(study: Study, existing: TrackingIssue | None, run_url: str) -> Plan:
    return plan(study, assess(study, DEFAULT_CATALOG), existing, Policy(DEFAULT_CATALOG, run_url))


def applied(result: Plan) -> TrackingIssue:
    number = result.number or 1
    return TrackingIssue(number, result.title, result.body, list(result.labels), f"https://x/issues/{number}")




@FAST
@given(studies(), studies(), people_text, people_text)
def test_reconciling_twice_writes_once(earlier, study, before, after):
    block = render_block(earlier, assess(earlier, DEFAULT_CATALOG), RUN_1)
    existing = TrackingIssue(1, "Study: OHDSI/Study", f"{before}\n{block}\n{after}", ["study-tracking"], "u")
    first = plan_for(study, existing, RUN_1)
    assert first.action in (Action.UPDATE, Action.NONE)
    assert plan_for(study, applied(first), RUN_2).action == Action.NONE


@FAST
@given(studies())
def test_a_created_issue_needs_no_further_write(study):
    created = plan_for(study, None, RUN_1)
    assert created.action == Action.CREATE
    assert plan_for(study, applied(created), RUN_2).action == Action.NONE


@FAST
@given(studies(), st.randoms(use_true_random=False))
def test_the_plan_ignores_the_order_in_which_issues_and_events_arrive(study, random):
    shuffled_issues = []
    for issue in random.sample(study.issues, len(study.issues)):
        shuffled_events = tuple(random.sample(issue.events, len(issue.events)))
        shuffled_issues.append(StudyIssue(issue.number, issue.title, issue.url, issue.open, issue.created_at,
                                          issue.closed_at, issue.labels, shuffled_events))
    shuffled = Study(study.repo, study.url, tuple(shuffled_issues))
    assert plan_for(shuffled, None, RUN_1) == plan_for(study, None, RUN_1)


@FAST
@given(studies(), people_text, people_text, st.sampled_from(["\n", "\r\n"]))
def test_splitting_gives_back_the_block_and_the_text_around_it(study, before, after, newline):
    block = render_block(study, assess(study, DEFAULT_CATALOG), RUN_1)
    around = (before + newline if before else "", newline + after if after else "")
    assert split_body(around[0] + block + around[1]) == (around[0], block, around[1])


@FEWER
@given(st.lists(studies(), min_size=2, max_size=4), st.randoms(use_true_random=False), people_text,
       people_text)
def test_the_tracking_issue_depends_only_on_the_last_state_read(states, random, before, after):
    """However runs interleave, replay or miss events, each reads the study as it then is: whatever
    states were read earlier and in whatever order, the run that reads the last state decides."""
    created = applied(plan_for(states[0], None, RUN_1))
    start = TrackingIssue(1, created.title, f"{before}\n{created.body}\n{after}", created.labels, created.url)
    issue = start
    for state in [*random.sample(states[:-1], len(states) - 1), states[-1]]:
        result = plan_for(state, issue, RUN_1)
        issue = applied(result) if result.action == Action.UPDATE else issue
    direct = plan_for(states[-1], start, RUN_1)
    expected = applied(direct) if direct.action == Action.UPDATE else start
    assert (issue.body, issue.labels) == (expected.body, expected.labels)


@FAST
@given(studies(repos=repo_names), people_text, people_text)
def test_a_rendered_block_reads_back_its_study_and_stage(study, before, after):
    block = render_block(study, assess(study, DEFAULT_CATALOG), RUN_1)
    created = applied(plan_for(study, None, RUN_1))
    body = f"{before}\n{created.body}\n{after}" if before else created.body
    assert names_study(body) == study.repo
    again = plan_for(study, TrackingIssue(1, created.title, body, created.labels, "u"), RUN_2)
    assert again.stage_before == again.stage_after  # the headline reads back as the stage it shows
    assert again.action == Action.NONE
    assert created.body == block


@FAST
@given(studies(repos=repo_names), people_text, people_text, st.sampled_from(["begin", "end", "both"]))
def test_a_block_that_lost_a_marker_is_still_its_study_s_and_is_explained(study, before, after, lost):
    """A lost marker never makes the tracking issue look like no study's (its study would get a
    second one): it is found, and the run stops with what to repair."""
    block = render_block(study, assess(study, DEFAULT_CATALOG), RUN_1)
    if lost in ("begin", "both"):
        block = block.replace(begin_marker(study.repo) + "\n", "")
    if lost in ("end", "both"):
        block = block.replace("\n" + END_MARKER, "")
    body = f"{before}\n{block}\n{after}"
    assert names_study(body) == study.repo
    with pytest.raises(DamagedBlock):
        split_body(body)


@FAST
@given(studies())
def test_hostile_study_text_never_breaks_the_block(study):
    block = render_block(study, assess(study, DEFAULT_CATALOG), RUN_1)
    assert split_body(block) == ("", block, "")
    assert block.count("<!--") == 1 + block.count("<!-- factory-sync:end -->") == 2
    assert block.count("-->") == 2
    assert not re.search(r"@\w", block)
    assert "<script" not in block
    assert not re.search(r"[\u202a-\u202e\u2066-\u2069\x00]", block)
    rows = [line for line in block.split("\n") if line.startswith("|")]
    assert len(rows) == 2 + len(DEFAULT_CATALOG.stages)
    assert all(cells(row) == 5 for row in rows)
    assert body_size(block) <= BODY_LIMIT


@FAST
@given(studies(titles=st.just("T" * 10_000)))
def test_long_titles_are_truncated(study):
    block = render_block(study, assess(study, DEFAULT_CATALOG), RUN_1)
    assert "T" * 121 not in block


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10)

STAGED = [{"name": "bug"}, {"name": "stage:base-camp"}]
REPOSITORY = {"full_name": "OHDSI/Study"}
# Well-formed payloads of every kind the core reads, trimmed to the fields it looks at.
WELL_FORMED = [
    ("issues", {"action": "labeled", "issue": {"number": 1, "labels": STAGED}, "label": {"name": "stage:x"},
                "repository": REPOSITORY}),
    ("issues", {"action": "closed", "issue": {"number": 1, "labels": STAGED}, "repository": REPOSITORY}),
    ("issues", {"action": "edited", "issue": {"number": 1, "labels": STAGED}, "repository": REPOSITORY,
                "changes": {"title": {"from": "old"}}}),
    ("issues", {"action": "opened", "issue": {"number": 1, "labels": STAGED}, "repository": REPOSITORY,
                "changes": {"old_issue": {"number": 3}}}),
    ("label", {"action": "edited", "label": {"name": "stage:a"}, "changes": {"name": {"from": "stage:b"}},
               "repository": REPOSITORY}),
    ("workflow_dispatch", {"inputs": {"study": "OHDSI/Other"}}),
    ("repository_dispatch", {"action": "factory-sync", "client_payload": {"study": "OHDSI/Other"}}),
]


def paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every place in a payload where a field could be missing or of the wrong type."""
    if isinstance(value, dict):
        children = list(value.items())
    else:
        children = list(enumerate(value)) if isinstance(value, list) else []
    return [path for key, child in children for path in [(*prefix, key), *paths(child, (*prefix, key))]]


def damaged(payload: dict, path: tuple, replacement: object, drop: bool) -> dict:
    copy = json.loads(json.dumps(payload))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copy


@st.composite
def damaged_payloads(draw) -> tuple[str, dict]:
    """A well-formed payload with one field dropped or replaced by any JSON value."""
    event_name, payload = draw(st.sampled_from(WELL_FORMED))
    path = draw(st.sampled_from(paths(payload)))
    return event_name, damaged(payload, path, draw(json_values), draw(st.booleans()))


@FAST
@given(damaged_payloads())
def test_any_payload_gives_a_trigger_or_an_event_error(case):
    event_name, payload = case
    try:
        trigger = parse_study_event(event_name, payload, "OHDSI/Study", DEFAULT_CATALOG)
    except EventError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(trigger, Trigger)
    assert trigger.notice and "\n" not in trigger.notice
    if trigger.reconcile:
        assert trigger.study is not None and is_repo_name(trigger.study)


@pytest.mark.parametrize(("event_name", "payload"), WELL_FORMED)
def test_the_well_formed_payloads_reconcile(event_name, payload):
    assert parse_study_event(event_name, payload, "OHDSI/Study", DEFAULT_CATALOG).reconcile
