"""Helpers of the board tests: the demo board as people see it, and which requests changed it."""

from __future__ import annotations

import json

from github_double import projects as boards
from github_double.demo_world import DEMO_OWNER, FACTORY_REPO
from github_double.graphql_api import is_mutation
from github_double.request_log import LoggedRequest
from github_double.server import GitHubDouble

PROJECT = f"{DEMO_OWNER}/1"
OWNED = ("Stage", "Stage since", "Stalled")


def project_of(github: GitHubDouble, number: int = 1) -> boards.Project:
    with github.world.lock:
        return boards.project_by_number(github.world, DEMO_OWNER, number)


def board_rows(github: GitHubDouble, names: tuple[str, ...] = OWNED, *, archived: bool = False) -> list[dict]:
    """The board's items of Factory issues, as people read them: issue number, then each field's value."""
    with github.world.lock:
        world = github.world
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        factory = world.repo(FACTORY_REPO)
        by_id = {issue.id: issue.number for issue in factory.issues.values()}
        return [{"issue": by_id.get(item.issue_id), "archived": item.archived,
                 **{name: boards.value_of(project, item, name) for name in names}}
                for item in project.items if (archived or not item.archived)
                and item.repository == FACTORY_REPO]


def is_mutation_request(entry: LoggedRequest) -> bool:
    if entry.path != "/graphql" or entry.method != "POST":
        return False
    try:
        return is_mutation(json.loads(entry.request_body))
    except ValueError:
        return False


def mutations(github: GitHubDouble) -> list[LoggedRequest]:
    return [entry for entry in github.log.entries() if is_mutation_request(entry)]


def board_reads(github: GitHubDouble) -> list[LoggedRequest]:
    """GraphQL queries that read the board (not the studies)."""
    return [entry for entry in github.log.entries() if entry.path == "/graphql"
            and not is_mutation_request(entry) and b"projectV2" in entry.request_body]
