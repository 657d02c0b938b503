"""Every answer GitHub's schema allows, handled per study: a null where the schema allows one, a field
left out, an empty connection, an unknown enum value. The fields come from the vendored schema: every
nullable field (and nullable list entry) in the answers the product's own queries get. For each, one
study of a resync gets the odd answer; it is read as GitHub means it or fails with the reason, and the
other studies are written."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    Visitor,
    get_named_type,
    is_abstract_type,
    is_interface_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    parse,
    visit,
)

from factory_sync.stages import DEFAULT_CATALOG
from factory_sync.study_query import (
    EVENTS,
    EVENTS_PER_PAGE,
    ISSUES,
    ISSUES_PER_PAGE,
    LABELS,
    Piece,
    build_query,
)
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER
from github_double.graphql_api import github_schema
from github_double.server import GitHubDouble
from github_double.world import TimelineEvent, utc
from stepkit import run_step
from test_resync import add_study, track

STAGES = [stage.label for stage in DEFAULT_CATALOG.stages]
BIG = f"{DEMO_OWNER}/Big"  # the study that gets the odd answers: it has follow-up pages of every kind
Path = tuple[str, ...]  # keys below a study's alias; "[]" stands for any list entry


def add_big_study(github: GitHubDouble) -> str:
    """More issues under a label, and more events on an issue, than a first page holds."""
    world = github.world
    with world.lock:
        repo = world.add_repo(BIG, private=True)
        for label in STAGES:
            world.ensure_label(repo, label)
        for n in range(ISSUES_PER_PAGE + 2):
            world.import_issue(repo, f"Task {n}", None, "demo-lead", created_at=utc(2025, 1, 1),
                               labels=[STAGES[0]], closed_at=utc(2025, 1, 5))
        moments = [utc(2025, 2, 1, minute=m) for m in range(EVENTS_PER_PAGE + 3)]
        timeline = [TimelineEvent(world.next_id(), "unlabeled" if n % 2 else "labeled", "demo-lead", at,
                                  label=STAGES[1]) for n, at in enumerate(moments)]
        timeline.append(TimelineEvent(world.next_id(), "labeled", "demo-lead", utc(2025, 3, 1),
                                      label=STAGES[1]))
        world.import_issue(repo, "Protocol", None, "demo-lead", created_at=utc(2025, 2, 1),
                           labels=[STAGES[1]], timeline=timeline)
        world.installations[DEMO_INSTALLATION_ID].repositories.append(BIG)
    return BIG


def _aliases() -> dict[str, str]:
    """The aliases the product's queries give fields, below each study's own alias."""
    pieces = [Piece(LABELS, "o/a"), Piece(ISSUES, "o/a", cursor="c", label="stage:x"),
              Piece(EVENTS, "o/a", cursor="c", number=1)]
    found: dict[str, str] = {}

    class Aliases(Visitor):
        def enter_field(self, node, *_) -> None:  # type: ignore[no-untyped-def]
            if node.alias is not None:
                found[node.alias.value] = node.name.value

    visit(parse(build_query(pieces).text), Aliases())
    return found


ALIASES = _aliases()


def odd_fields(answers: list[dict]) -> list[Path]:
    """Every nullable field, and nullable list entry, in these answers, by GitHub's schema."""
    schema = github_schema()
    found: set[Path] = set()
    for body in answers:
        for value in (body.get("data") or {}).values():
            found.update(_nullable(value, schema.query_type.fields["repository"].type, (), schema))
    return sorted(found)


def _nullable(value: object, kind, path: Path, schema) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    if value is None:
        return
    if is_non_null_type(kind):
        kind = kind.of_type
    if is_list_type(kind):
        item = kind.of_type
        for entry in value:  # type: ignore[union-attr]
            if not isinstance(item, GraphQLNonNull):
                yield (*path, "[]")
            yield from _nullable(entry, item, (*path, "[]"), schema)
        return
    named = get_named_type(kind)
    if is_abstract_type(named) and "__typename" in value:  # type: ignore[operator]
        named = schema.get_type(value["__typename"])  # type: ignore[index]
    if not (is_object_type(named) or is_interface_type(named)):  # an interface: asked for its own fields
        return
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    for key, inner in value.items():  # type: ignore[union-attr]
        if key == "__typename":
            continue
        field = named.fields.get(key) or named.fields[ALIASES[key]]
        if not isinstance(field.type, GraphQLNonNull):
            yield (*path, key)
        yield from _nullable(inner, field.type, (*path, key), schema)


def _at(value: object, path: Path, change: Callable[[object, str | int], None]) -> None:
    """Apply `change(container, key)` at every place the path leads to."""
    if not path or value is None:
        return
    key, rest = path[0], path[1:]
    if key == "[]":
        if isinstance(value, list):
            for index in range(len(value)):
                _at(value[index], rest, change) if rest else change(value, index)
        return
    if isinstance(value, dict) and key in value:
        _at(value[key], rest, change) if rest else change(value, key)


def _big_aliases(body: dict) -> list[str]:
    """The aliases of an answer that belong to the big study: its first page names it; follow-up pages
    (which name no repository) are its alone, as no other study needs any."""
    data = body.get("data") or {}
    return [alias for alias, value in data.items()
            if isinstance(value, dict) and value.get("nameWithOwner", BIG) == BIG]


def edited(path: Path, make: str) -> Callable[[dict], None]:
    def edit(body: dict) -> None:
        for alias in _big_aliases(body):
            def change(container, key) -> None:  # type: ignore[no-untyped-def]
                if make == "null":
                    container[key] = None
                elif make == "missing" and isinstance(container, dict):
                    del container[key]
                elif make == "empty" and isinstance(container[key], list):
                    container[key] = []
                elif make == "unknown" and isinstance(container[key], str):
                    container[key] = "SOMETHING_NEW"
            _at(body["data"][alias], path, change)
    return edit


@pytest.fixture
def portfolio(github: GitHubDouble) -> dict[str, object]:
    """Three studies, each tracked in the Factory; the answers a first resync gets, recorded."""
    studies = {name: track(github, add_study(github, name, reached)) for name, reached in (("Alpha", 2),
                                                                                             ("Gamma", 3))}
    studies["Big"] = track(github, add_big_study(github))
    return studies


def recorded_answers(github: GitHubDouble, tmp_path) -> list[dict]:
    answers: list[dict] = []
    github.world.graphql_edits.append(lambda body: answers.append(copy.deepcopy(body)))
    run = run_step(github, tmp_path / "record", "workflow_dispatch", {"inputs": {}}, repository=FACTORY,
                   dry_run="true")
    github.world.graphql_edits.clear()
    assert run.code == 0, run.stdout
    return answers


FACTORY = f"{DEMO_OWNER}/Factory"


def test_the_answers_hold_every_kind_of_page_and_nullable_field(github, tmp_path, portfolio):
    answers = recorded_answers(github, tmp_path)
    fields = odd_fields(answers)
    assert len(answers) >= 2  # first pages, then the follow-up pages of issues and of events
    assert {("labels",), ("label",), ("issue",), ("labels", "nodes", "[]"), ("closedAt",)} <= {
        path[-3:] if path[-1] == "[]" else path[-1:] for path in fields}


def test_every_odd_answer_fails_that_study_alone_or_reads_as_github_means(github, tmp_path, portfolio):
    fields = odd_fields(recorded_answers(github, tmp_path))
    cases = [(path, "null") for path in fields] + [(path, "missing") for path in fields if path[-1] != "[]"]
    cases += [(path, "empty") for path in fields if path[-1] == "nodes"]
    cases += [(("labels", "nodes", "[]", "issues", "nodes", "[]", "state"), "unknown")]
    outcomes: dict[str, int] = {"read": 0, "failed": 0}
    for n, (path, make) in enumerate(cases):
        for name in ("Alpha", "Gamma", "Big"):  # every tracking issue back to its stale start
            issue = portfolio[name]
            with github.world.lock:
                issue.body = f"**Repository:** https://github.com/{DEMO_OWNER}/{name}\n"  # type: ignore[attr-defined]
        github.world.graphql_edits[:] = [edited(path, make)]
        run = run_step(github, tmp_path / f"case{n}", "workflow_dispatch", {"inputs": {}}, repository=FACTORY)
        github.world.graphql_edits.clear()
        case = f"{'.'.join(path)} {make}"
        assert "unexpected" not in run.stdout, case
        assert "## Current stage: Protocol Development" in portfolio["Alpha"].body, case  # type: ignore[attr-defined]
        assert "## Current stage: Phenotype Development" in portfolio["Gamma"].body, case  # type: ignore[attr-defined]
        if run.outputs["failed"] == "1":
            outcomes["failed"] += 1
            assert run.code == 1, case
            failed = f"{BIG}: FAILED: Reading the stage-labelled issues of {BIG} failed: GitHub"
            assert failed in run.stdout, case
        else:
            outcomes["read"] += 1
            assert run.code == 0 and run.outputs["failed"] == "0", case
            assert "## Current stage:" in portfolio["Big"].body, case  # type: ignore[attr-defined]
    assert outcomes["failed"] and outcomes["read"]  # both kinds of field exist
