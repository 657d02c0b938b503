"""The Factory's project board in a resync, over HTTP against the double: the whole board read 100
items a page, only what differs written, and everything people put on the board left alone."""

from __future__ import annotations

import math

from board_kit import board_reads, is_mutation_request, mutations
from factory_sync.board import MUTATIONS_PER_DOCUMENT
from github_double import projects as boards
from github_double.limits import SecondaryLimits
from github_double.portfolio_world import FACTORY_REPO, OWNER, build_portfolio_world, study_repo
from stepkit import run_step

STUDIES = 150
ITEMS = 1000


def resync(github, tmp_path, **inputs: str):
    with github.world.lock:
        token = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    return run_step(github, tmp_path, "workflow_dispatch", {"inputs": {}}, repository=FACTORY_REPO,
                    workflow_token=token, factory_repo=FACTORY_REPO, **inputs)


def rows(github) -> dict[int, tuple]:
    """Factory issue number -> (Stage, Stage since, Stalled, archived) of its item."""
    with github.world.lock:
        world = github.world
        project = boards.project_by_number(world, OWNER, 1)
        numbers = {issue.id: issue.number for issue in world.repo(FACTORY_REPO).issues.values()}
        return {numbers[item.issue_id]: (boards.value_of(project, item, "Stage"),
                                         boards.value_of(project, item, "Stage since"),
                                         boards.value_of(project, item, "Stalled"), item.archived)
                for item in project.items if item.repository == FACTORY_REPO}


def test_150_studies_on_a_board_of_1000_items_then_a_resync_that_only_reads(github_double, app_private_key,
                                                                           tmp_path):
    world, key = build_portfolio_world(STUDIES, seed=5, private_key=app_private_key)
    world.limits = SecondaryLimits.off()
    github_double.reset(world, key)
    github = github_double
    with world.lock:  # people's own rows and field: issues of the studies, and a Priority on some
        project = boards.project_by_number(world, OWNER, 1)
        priority = boards.add_field(world, project, "Priority", "SINGLE_SELECT", ["High", "Low"])
        theirs = [(world.repo(study_repo(n)), issue) for n in range(1, STUDIES + 1)
                  for issue in world.repo(study_repo(n)).issues.values()][:ITEMS - STUDIES]
        for repo, issue in theirs:
            item = boards.add_item(world, project, repo, issue, "demo-lead")
            boards.set_value(world, project, item, priority, "High")
        factory = world.repo(FACTORY_REPO)
        mine = boards.add_item(world, project, factory, factory.issues[1], "demo-lead")
        boards.set_value(world, project, mine, priority, "Low")
    assert len(theirs) == ITEMS - STUDIES

    first = resync(github, tmp_path, project=f"https://github.com/orgs/{OWNER}/projects/1")
    assert first.code == 0, first.log
    kept = rows(github)
    assert sorted(kept) == list(range(1, STUDIES + 1))
    assert all(stage and not archived for stage, _, _, archived in kept.values())
    with world.lock:
        assert len(project.items) == ITEMS
        assert boards.value_of(project, mine, "Priority") == "Low"
        items = [project.item_for(issue) for _, issue in theirs]
        assert all(boards.value_of(project, item, "Priority") == "High"
                   and boards.value_of(project, item, "Stage") is None for item in items)
        assert [o.name for o in priority.options] == ["High", "Low"]
    # 3 fields in one document, 149 items added in 3 (#1 was on the board), then the values in
    # documents of 50 (a study not started has no date and no stall).
    values = sum(value is not None for row in kept.values() for value in row[:3])
    assert len(mutations(github)) == 1 + 3 + math.ceil(values / MUTATIONS_PER_DOCUMENT)

    github.log.clear()
    again = resync(github, tmp_path, project=f"{OWNER}/1")
    assert again.code == 0, again.log
    assert not any(map(is_mutation_request, github.log.entries()))
    assert len(board_reads(github)) == ITEMS // 100
    assert rows(github) == kept
    assert f"Board https://github.com/orgs/{OWNER}/projects/1: in step, nothing to change" in again.log
