"""The double's projects (ProjectV2) answer like GitHub's GraphQL API, over HTTP, through PyGithub."""

from __future__ import annotations

import json
import re

import requests

from github_double import projects as boards
from github_double.demo_world import (
    DEMO_INSTALLATION_ID,
    DEMO_OWNER,
    FACTORY_REPO,
    PORTFOLIO_PROJECT,
    STUDY_REPO,
)
from github_double.portfolio_world import build_portfolio_world
from github_double.state_file import load_state
from github_double.world import utc
from graphql_kit import data_of

FORBIDDEN = {"type": "FORBIDDEN", "message": "Resource not accessible by integration"}
PROJECT_ID = re.compile(r"^PVT_kwDO[A-Za-z0-9_-]+$")
ITEM_ID = re.compile(r"^PVTI_lADO[A-Za-z0-9_-]+$")
FIELD_ID = re.compile(r"^PVTF_lADO[A-Za-z0-9_-]+$")
SINGLE_SELECT_ID = re.compile(r"^PVTSSF_lADO[A-Za-z0-9_-]+$")
OPTION_ID = re.compile(r"^[0-9a-f]{8}$")
BOARD = "Factory portfolio"
FIELDS = """fields(first: 50) { nodes { __typename ... on ProjectV2FieldCommon { id name dataType }
                                     ... on ProjectV2SingleSelectField {
                                       options { id name color description } } } }"""
VALUES = """fieldValues(first: 20) { nodes { __typename
    ... on ProjectV2ItemFieldSingleSelectValue {
      name optionId field { ... on ProjectV2FieldCommon { name } } }
    ... on ProjectV2ItemFieldDateValue { date field { ... on ProjectV2FieldCommon { name } } }
    ... on ProjectV2ItemFieldTextValue { text field { ... on ProjectV2FieldCommon { name } } } } }"""
ITEMS = f"""items(first: $first, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }}
    nodes {{ id type isArchived content {{ ... on Issue {{ number title }} }} {VALUES} }} }}"""
BOARD_QUERY = f"""query($login: String!, $number: Int!, $first: Int = 100, $after: String) {{
  organization(login: $login) {{ projectV2(number: $number) {{ id number title url
    {FIELDS} {ITEMS} }} }} }}"""


def board(gql, number: int = 1, token: str | None = None, **variables) -> dict:
    return data_of(gql, BOARD_QUERY, {"login": DEMO_OWNER, "number": number, **variables}, token)[
        "organization"]["projectV2"]


def tracking_issues(github, count: int) -> list:
    with github.world.lock:
        factory = github.world.repo(FACTORY_REPO)
        return [github.world.create_issue(factory, f"Study{n:04d}", "Tracking", "factory-sync[bot]")
                for n in range(1, count + 1)]


def issue_id(gql, number: int, repo: str = FACTORY_REPO) -> str:
    owner, name = repo.split("/")
    query = ("query($o: String!, $n: String!, $i: Int!) { "
             "repository(owner: $o, name: $n) { issue(number: $i) { id } } }")
    return data_of(gql, query, {"o": owner, "n": name, "i": number})["repository"]["issue"]["id"]


def fields_by_name(project: dict) -> dict:
    return {node["name"]: node for node in project["fields"]["nodes"]}


def values_of(item: dict) -> dict:
    return {value["field"]["name"]: value.get("name") or value.get("date") or value.get("text")
            for value in item["fieldValues"]["nodes"] if "field" in value}


CREATE_FIELDS = """mutation($p: ID!, $options: [ProjectV2SingleSelectFieldOptionInput!]) {
  stage: createProjectV2Field(input: {projectId: $p, dataType: SINGLE_SELECT, name: "Stage",
                                      singleSelectOptions: $options}) {
    projectV2Field { ... on ProjectV2SingleSelectField { id name dataType options { id name } } } }
  since: createProjectV2Field(input: {projectId: $p, dataType: DATE, name: "Stage since"}) {
    projectV2Field { ... on ProjectV2Field { id name dataType } } }
  note: createProjectV2Field(input: {projectId: $p, dataType: TEXT, name: "Note"}) {
    projectV2Field { ... on ProjectV2Field { id name dataType } } } }"""
STAGES = [{"name": name, "color": "GRAY", "description": ""}
          for name in ("Base camp", "Protocol", "Complete")]
ADD_ITEM = """mutation($p: ID!, $c: ID!) { addProjectV2ItemById(input: {projectId: $p, contentId: $c}) {
  item { id type isArchived content { ... on Issue { number } } } } }"""
SET_VALUES = """mutation($p: ID!, $i: ID!, $stage: ID!, $option: String!, $since: ID!, $note: ID!) {
  a: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $stage,
                                           value: {singleSelectOptionId: $option}}) { projectV2Item { id } }
  b: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $since,
                                           value: {date: "2025-03-24"}}) { projectV2Item { id } }
  c: updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $note,
                                           value: {text: "needs a lead"}}) { projectV2Item { id } } }"""


def add_item(gql, project_id: str, content_id: str) -> dict:
    return data_of(gql, ADD_ITEM, {"p": project_id, "c": content_id})["addProjectV2ItemById"]["item"]


def build_board(gql, issue_numbers=(1,)) -> tuple[dict, dict, list[str]]:
    """The demo board with Stage, Stage since and Note, and items for the given Factory issues."""
    project_id = board(gql)["id"]
    created = data_of(gql, CREATE_FIELDS, {"p": project_id, "options": STAGES})
    fields = {alias: created[alias]["projectV2Field"] for alias in ("stage", "since", "note")}
    items = [add_item(gql, project_id, issue_id(gql, n))["id"] for n in issue_numbers]
    return {"id": project_id}, fields, items


# -- reading -------------------------------------------------------------------------------------------
def test_the_demo_organisation_has_the_factory_portfolio_as_github_creates_a_project(github, gql):
    project = board(gql)
    assert (project["number"], project["title"]) == (1, PORTFOLIO_PROJECT) and PORTFOLIO_PROJECT == BOARD
    assert PROJECT_ID.match(project["id"])
    assert project["url"] == f"{github.url}/orgs/{DEMO_OWNER}/projects/1"
    fields = fields_by_name(project)
    assert list(fields) == ["Title", "Assignees", "Status", "Labels", "Linked pull requests", "Milestone",
                            "Repository", "Reviewers", "Parent issue", "Sub-issues progress"]
    assert fields["Title"]["dataType"] == "TITLE" and FIELD_ID.match(fields["Title"]["id"])
    status = fields["Status"]
    assert (status["__typename"], status["dataType"]) == ("ProjectV2SingleSelectField", "SINGLE_SELECT")
    assert SINGLE_SELECT_ID.match(status["id"])
    assert [o["name"] for o in status["options"]] == ["Todo", "In Progress", "Done"]
    assert all(OPTION_ID.match(o["id"]) for o in status["options"])
    assert project["items"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None},
                                "nodes": []}
    with github.world.lock:
        granted = github.world.installations[DEMO_INSTALLATION_ID].permissions
    assert granted["organization_projects"] == "write"


def test_a_board_is_built_and_read_back_through_every_path(github, gql):
    tracking_issues(github, 2)
    project, fields, [item_id] = build_board(gql, [1])
    assert ITEM_ID.match(item_id) and SINGLE_SELECT_ID.match(fields["stage"]["id"])
    assert FIELD_ID.match(fields["since"]["id"]) and fields["since"]["dataType"] == "DATE"
    protocol = fields["stage"]["options"][1]
    assert OPTION_ID.match(protocol["id"]) and protocol["name"] == "Protocol"
    data_of(gql, SET_VALUES, {"p": project["id"], "i": item_id, "stage": fields["stage"]["id"],
                              "option": protocol["id"], "since": fields["since"]["id"],
                              "note": fields["note"]["id"]})

    [item] = board(gql)["items"]["nodes"]
    assert (item["id"], item["type"], item["isArchived"]) == (item_id, "ISSUE", False)
    assert item["content"] == {"number": 1, "title": "Study0001"}
    assert [v["__typename"] for v in item["fieldValues"]["nodes"]] == [
        "ProjectV2ItemFieldRepositoryValue", "ProjectV2ItemFieldTextValue",
        "ProjectV2ItemFieldSingleSelectValue", "ProjectV2ItemFieldDateValue", "ProjectV2ItemFieldTextValue"]
    assert values_of(item) == {"Title": "Study0001", "Stage": "Protocol", "Stage since": "2025-03-24",
                               "Note": "needs a lead"}

    # From the issue's side, as the event path reads it, and by id.
    from_issue = data_of(gql, f"""query($o: String!, $n: String!) {{ repository(owner: $o, name: $n) {{
        issue(number: 1) {{ projectItems(first: 10) {{ nodes {{ id isArchived project {{ id number }}
          {VALUES} }} }} }}
        other: issue(number: 2) {{ projectItems(first: 10) {{ totalCount }} }} }} }}""",
                         {"o": DEMO_OWNER, "n": "Factory"})["repository"]
    [seen] = from_issue["issue"]["projectItems"]["nodes"]
    assert (seen["id"], seen["project"]) == (item_id, {"id": project["id"], "number": 1})
    assert values_of(seen) == values_of(item)
    assert from_issue["other"]["projectItems"]["totalCount"] == 0
    by_id = data_of(gql, """query($ids: [ID!]!) { nodes(ids: $ids) { __typename
        ... on ProjectV2 { title } ... on ProjectV2Item { isArchived } ... on ProjectV2Field { name }
        ... on ProjectV2SingleSelectField { name } } }""",
                    {"ids": [project["id"], item_id, fields["since"]["id"], fields["stage"]["id"]]})
    assert by_id["nodes"] == [{"__typename": "ProjectV2", "title": BOARD},
                              {"__typename": "ProjectV2Item", "isArchived": False},
                              {"__typename": "ProjectV2Field", "name": "Stage since"},
                              {"__typename": "ProjectV2SingleSelectField", "name": "Stage"}]
    one = data_of(gql, """query($name: String!) { organization(login: "ohdsi-demo") { projectV2(number: 1) {
        field(name: $name) { ... on ProjectV2SingleSelectField { options(names: ["Complete"]) { name } } }
        items(first: 1) { nodes { fieldValueByName(name: "Stage") {
          ... on ProjectV2ItemFieldSingleSelectValue { name } } } } } } }""", {"name": "Stage"})
    assert one["organization"]["projectV2"] == {
        "field": {"options": [{"name": "Complete"}]},
        "items": {"nodes": [{"fieldValueByName": {"name": "Protocol"}}]}}


def test_clearing_archiving_and_adding_again(github, gql):
    tracking_issues(github, 1)
    project, fields, [item_id] = build_board(gql, [1])
    ids = {"p": project["id"], "i": item_id}
    data_of(gql, """mutation($p: ID!, $i: ID!, $f: ID!) {
        updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f,
                                              value: {date: "2025-01-02"}}) {
          projectV2Item { id } } }""", {**ids, "f": fields["since"]["id"]})
    cleared = data_of(gql, f"""mutation($p: ID!, $i: ID!, $f: ID!) {{
        clearProjectV2ItemFieldValue(input: {{projectId: $p, itemId: $i, fieldId: $f}}) {{
          projectV2Item {{ {VALUES} }} }} }}""", {**ids, "f": fields["since"]["id"]})
    assert values_of(cleared["clearProjectV2ItemFieldValue"]["projectV2Item"]) == {"Title": "Study0001"}
    archived = data_of(gql, """mutation($p: ID!, $i: ID!) {
        archiveProjectV2Item(input: {projectId: $p, itemId: $i}) { item { id isArchived } } }""", ids)
    assert archived["archiveProjectV2Item"]["item"] == {"id": item_id, "isArchived": True}
    again = add_item(gql, project["id"], issue_id(gql, 1))
    assert again["id"] == item_id, "an issue already on the board keeps its item"
    listed = data_of(gql, """{ repository(owner: "ohdsi-demo", name: "Factory") { issue(number: 1) {
        all: projectItems(first: 5) { totalCount }
        live: projectItems(first: 5, includeArchived: false) { totalCount }
        } } }""")["repository"]["issue"]
    assert (listed["all"]["totalCount"], listed["live"]["totalCount"]) == (1, 0)
    assert board(gql)["items"]["totalCount"] == 1, "an archived item stays in the project's items"


def test_a_new_project_is_created_with_the_default_fields(github, gql):
    owner = data_of(gql, '{ organization(login: "ohdsi-demo") { id login } }')["organization"]
    created = data_of(gql, """mutation($o: ID!) {
        createProjectV2(input: {ownerId: $o, title: "Second board"}) {
        projectV2 { id number title fields(first: 20) { totalCount } } } }""", {"o": owner["id"]})
    project = created["createProjectV2"]["projectV2"]
    assert PROJECT_ID.match(project["id"]) and (project["number"], project["title"]) == (2, "Second board")
    assert project["fields"]["totalCount"] == len(boards.DEFAULT_FIELDS)


def test_replacing_a_single_selects_options_clears_every_value_in_it(github, gql):
    """GitHub's updateProjectV2Field replaces the options: new ids, so the values people set are gone."""
    tracking_issues(github, 3)
    project, fields, items = build_board(gql, [1, 2, 3])
    for item_id, option in zip(items, fields["stage"]["options"], strict=True):
        data_of(gql, """mutation($p: ID!, $i: ID!, $f: ID!, $o: String!) {
            updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f,
                                                  value: {singleSelectOptionId: $o}}) {
              projectV2Item { id } } }""",
                {"p": project["id"], "i": item_id, "f": fields["stage"]["id"], "o": option["id"]})
    stages = [values_of(i)["Stage"] for i in board(gql)["items"]["nodes"]]
    assert stages == ["Base camp", "Protocol", "Complete"]

    updated = data_of(gql, """mutation($f: ID!, $options: [ProjectV2SingleSelectFieldOptionInput!]) {
        updateProjectV2Field(input: {fieldId: $f, name: "Stage", singleSelectOptions: $options}) {
          projectV2Field { ... on ProjectV2SingleSelectField { id options { id name } } } } }""",
                      {"f": fields["stage"]["id"],
                       "options": [*STAGES, {"name": "Not started", "color": "GRAY", "description": ""}]})
    field = updated["updateProjectV2Field"]["projectV2Field"]
    assert field["id"] == fields["stage"]["id"]
    assert [o["name"] for o in field["options"]] == ["Base camp", "Protocol", "Complete", "Not started"]
    assert not {o["id"] for o in field["options"]} & {o["id"] for o in fields["stage"]["options"]}
    assert [values_of(i).get("Stage") for i in board(gql)["items"]["nodes"]] == [None, None, None]

    renamed = gql("""mutation($f: ID!) { updateProjectV2Field(input: {fieldId: $f, name: "Note"}) {
        projectV2Field { ... on ProjectV2Field { name } } } }""", {"f": fields["since"]["id"]})
    assert renamed["errors"][0]["type"] == "UNPROCESSABLE"
    assert renamed["errors"][0]["message"] == "Name has already been taken"


def test_a_person_deletes_a_field(github, gql):
    tracking_issues(github, 1)
    project, fields, [item_id] = build_board(gql, [1])
    data_of(gql, SET_VALUES, {"p": project["id"], "i": item_id, "stage": fields["stage"]["id"],
                              "option": fields["stage"]["options"][0]["id"], "since": fields["since"]["id"],
                              "note": fields["note"]["id"]})
    deleted = data_of(gql, """mutation($f: ID!) { deleteProjectV2Field(input: {fieldId: $f}) {
        projectV2Field { ... on ProjectV2SingleSelectField { name } } } }""", {"f": fields["stage"]["id"]})
    assert deleted["deleteProjectV2Field"]["projectV2Field"] == {"name": "Stage"}
    after = board(gql)
    assert "Stage" not in fields_by_name(after)
    assert values_of(after["items"]["nodes"][0]) == {"Title": "Study0001", "Stage since": "2025-03-24",
                                                     "Note": "needs a lead"}
    gone = gql("query($id: ID!) { node(id: $id) { id } }", {"id": fields["stage"]["id"]})
    assert gone["errors"][0]["type"] == "NOT_FOUND" and gone["data"] == {"node": None}


# -- permissions and missing things --------------------------------------------------------------------
def test_without_the_projects_permission_every_project_path_is_forbidden(github, gql, mint_token):
    tracking_issues(github, 1)
    project, _, [item_id] = build_board(gql, [1])
    token = mint_token(permissions={"issues": "write"})
    body = gql(BOARD_QUERY, {"login": DEMO_OWNER, "number": 1}, token)
    assert body["data"] == {"organization": {"projectV2": None}}
    assert [{k: e[k] for k in ("type", "message", "path")} for e in body["errors"]] == [
        {**FORBIDDEN, "path": ["organization", "projectV2"]}]
    from_issue = gql('{ repository(owner: "ohdsi-demo", name: "Factory") { issue(number: 1) { number '
                     "projectItems(first: 5) { totalCount } } } }", token=token)
    assert from_issue["errors"][0]["path"] == ["repository", "issue", "projectItems"]
    assert from_issue["errors"][0]["type"] == "FORBIDDEN"
    assert from_issue["data"] == {"repository": {"issue": None}}, "projectItems is non-null: its issue goes"
    by_id = gql("query($id: ID!) { node(id: $id) { id } }", {"id": item_id}, token)
    assert (by_id["data"], by_id["errors"][0]["type"]) == ({"node": None}, "FORBIDDEN")

    reader = mint_token(permissions={"issues": "write", "organization_projects": "read"})
    assert board(gql, token=reader)["id"] == project["id"]
    refused = gql("""mutation($p: ID!, $i: ID!) { archiveProjectV2Item(input: {projectId: $p, itemId: $i}) {
        item { id } } }""", {"p": project["id"], "i": item_id}, reader)
    assert refused["data"] == {"archiveProjectV2Item": None}
    assert {k: refused["errors"][0][k] for k in ("type", "message", "path")} == {
        **FORBIDDEN, "path": ["archiveProjectV2Item"]}

    with github.world.lock:
        workflow = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "write",
                                                                   "organization_projects": "write"})
    from_workflow = gql(BOARD_QUERY, {"login": DEMO_OWNER, "number": 1}, workflow)
    assert from_workflow["errors"][0]["type"] == "FORBIDDEN", "a GITHUB_TOKEN never reaches a project"


def test_tokens_are_minted_with_the_projects_permission_only_when_granted(github, app_jwt):
    url = f"{github.url}/app/installations/{DEMO_INSTALLATION_ID}/access_tokens"
    headers = {"Authorization": f"Bearer {app_jwt()}"}
    asked = {"permissions": {"issues": "write", "organization_projects": "write"},
             "repositories": ["Factory"]}
    reply = requests.post(url, json=asked, headers=headers, timeout=10)
    assert reply.status_code == 201
    assert reply.json()["permissions"] == {"issues": "write", "organization_projects": "write",
                                           "metadata": "read"}
    with github.world.lock:
        github.world.installations[DEMO_INSTALLATION_ID].permissions.pop("organization_projects")
    refused = requests.post(url, json=asked, headers=headers, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["message"] == "The permissions requested are not granted to this installation."


def test_a_project_owned_by_a_user_cannot_be_reached_by_an_app(github, gql):
    """GitHub has no App permission for a user's projects: the App sees no such project."""
    with github.world.lock:
        boards.add_project(github.world, "demo-lead", "My own board", creator="demo-lead")
    body = gql('{ user(login: "demo-lead") { login projectV2(number: 1) { id } } }')
    assert body["data"] == {"user": {"login": "demo-lead", "projectV2": None}}
    assert [{k: e[k] for k in ("type", "message", "path")} for e in body["errors"]] == [
        {"type": "NOT_FOUND", "message": "Could not resolve to a ProjectV2 with the number 1.",
         "path": ["user", "projectV2"]}]
    as_org = gql('{ organization(login: "demo-lead") { projectV2(number: 1) { id } } }')
    assert as_org["data"] == {"organization": None}
    assert as_org["errors"][0] == {
        "type": "NOT_FOUND", "path": ["organization"], "locations": [{"line": 1, "column": 3}],
        "message": "Could not resolve to an Organization with the login of 'demo-lead'."}
    owner = data_of(gql, '{ repositoryOwner(login: "demo-lead") { __typename login } }')
    assert owner["repositoryOwner"] == {"__typename": "User", "login": "demo-lead"}


def test_a_project_number_that_does_not_exist(github, gql):
    body = gql(BOARD_QUERY, {"login": DEMO_OWNER, "number": 7})
    assert body["data"] == {"organization": {"projectV2": None}}
    assert body["errors"] == [{"type": "NOT_FOUND", "path": ["organization", "projectV2"],
                               "locations": [{"line": 2, "column": 33}],
                               "message": "Could not resolve to a ProjectV2 with the number 7."}]


def test_values_github_refuses(github, gql):
    tracking_issues(github, 1)
    project, fields, [item_id] = build_board(gql, [1])
    status = fields_by_name(board(gql))["Status"]
    update = """mutation($p: ID!, $i: ID!, $f: ID!, $v: ProjectV2FieldValue!) {
        updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f, value: $v}) {
          projectV2Item { id } } }"""

    def refused(field_id: str, value: dict, item: str = item_id) -> tuple[str, str]:
        body = gql(update, {"p": project["id"], "i": item, "f": field_id, "v": value})
        assert body["data"] == {"updateProjectV2ItemFieldValue": None}, body
        return body["errors"][0]["type"], body["errors"][0]["message"]

    assert refused(fields["stage"]["id"], {"singleSelectOptionId": status["options"][0]["id"]}) == (
        "VALIDATION", "The single select option Id does not belong to the field")
    assert refused(fields["note"]["id"], {"text": "x" * 1025}) == (
        "UNPROCESSABLE", "Column value must be a valid value for text column")
    assert refused(fields["since"]["id"], {"text": "2025-01-01"}) == (
        "UNPROCESSABLE", "Did not receive a date value to update a field of type date")
    assert refused(fields_by_name(board(gql))["Title"]["id"], {"text": "Renamed"}) == (
        "UNPROCESSABLE", "The field of type title is currently not supported")
    assert refused(fields["note"]["id"], {"text": "x"}, item="PVTI_lADOAAAAAM4AAAAAzgAAAAA")[0] == "NOT_FOUND"


def test_an_item_whose_issue_the_token_cannot_see_is_redacted(github, gql, mint_token):
    with github.world.lock:
        world = github.world
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        study = world.repo(STUDY_REPO)
        boards.add_item(world, project, study, study.issues[2], "demo-lead")
    token = mint_token(repositories=["Factory"],
                       permissions={"issues": "read", "organization_projects": "read"})
    [item] = board(gql, token=token)["items"]["nodes"]
    assert (item["type"], item["content"], item["fieldValues"]["nodes"]) == ("REDACTED", None, [])
    [visible] = board(gql)["items"]["nodes"]
    assert (visible["type"], visible["content"]["number"]) == ("ISSUE", 2)


def test_a_thousand_items_are_read_a_hundred_a_page(github, gql):
    with github.world.lock:
        world = github.world
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        stage = boards.add_field(world, project, "Stage", "SINGLE_SELECT", ["Early", "Late"])
        factory = world.repo(FACTORY_REPO)
        for n in range(1, 1001):
            issue = world.import_issue(factory, f"Study{n:04d}", "Tracking", "factory-sync[bot]",
                                       created_at=utc(2025, 1, 1))
            item = boards.add_item(world, project, factory, issue)
            boards.set_value(world, project, item, stage, "Early" if n % 2 else "Late")
    pages, seen, cursor = 0, [], None
    while True:
        items = board(gql, after=cursor)["items"]
        pages += 1
        seen += [(i["content"]["number"], values_of(i)["Stage"]) for i in items["nodes"]]
        if not items["pageInfo"]["hasNextPage"]:
            break
        cursor = items["pageInfo"]["endCursor"]
    assert pages == 10 and items["totalCount"] == 1000
    assert seen == [(n, "Early" if n % 2 else "Late") for n in range(1, 1001)]

    too_many = gql(BOARD_QUERY, {"login": DEMO_OWNER, "number": 1, "first": 101})
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert too_many["errors"][0]["message"] == (
        "Requesting 101 records on the `items` connection exceeds the `first` limit of 100 records.")
    unbounded = gql('{ organization(login: "ohdsi-demo") { projectV2(number: 1) { items { totalCount } } } }')
    assert unbounded["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    page = ITEMS.replace("$first", "100").replace(", after: $after", "")
    rate = data_of(gql, f'query {{ rateLimit {{ cost nodeCount }} organization(login: "ohdsi-demo") {{ '
                        f"projectV2(number: 1) {{ {page} }} }} }}")["rateLimit"]
    assert rate == {"cost": 1, "nodeCount": 100 + 100 * 20}


def test_project_documents_are_validated_against_githubs_schema(github, gql):
    body = gql('{ organization(login: "ohdsi-demo") { projectV2(number: 1) { '
               "items(first: 1) { nodes { stage } } } } }")
    assert body["errors"][0]["message"] == "Field 'stage' doesn't exist on type 'ProjectV2Item'"
    assert "data" not in body


# -- the worlds ----------------------------------------------------------------------------------------
def test_the_portfolio_world_has_the_board_and_grants_it(app_private_key):
    world, _ = build_portfolio_world(3, private_key=app_private_key)
    [installation] = world.installations.values()
    assert installation.permissions["organization_projects"] == "write"
    assert installation.permissions["contents"] == "write"
    project = boards.project_by_number(world, "ohdsi-bench", 1)
    assert (project.title, project.items) == (BOARD, [])


def test_a_state_file_describes_a_board(tmp_path, app_private_key):
    key_file = tmp_path / "app.pem"
    key_file.write_text(app_private_key, encoding="ascii")
    state = {
        "apps": [{"id": 1, "private_key_path": "app.pem"}],
        "repositories": [{"full_name": "org/Factory", "issues": [
            {"title": "Study A", "created_at": "2025-01-01T00:00:00Z"}]}],
        "installations": [{"app_id": 1, "account": "org", "permissions": {"organization_projects": "write"}}],
        "projects": [{"owner": "org", "number": 3, "title": "Board",
                      "fields": [{"name": "Stage", "type": "SINGLE_SELECT", "options": ["One", "Two"]},
                                 {"name": "Since", "type": "DATE"}],
                      "items": [{"issue": "org/Factory#1", "values": {"Stage": "Two", "Since": "2025-02-03",
                                                                      "Status": "Done"}}]}],
    }
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    world, _ = load_state(tmp_path / "state.json")
    project = boards.project_by_number(world, "org", 3)
    [item] = project.items
    assert [boards.value_of(project, item, name) for name in ("Stage", "Since", "Status")] == [
        "Two", "2025-02-03", "Done"]


def test_a_date_github_cannot_read_is_refused_before_anything_runs(github, gql):
    tracking_issues(github, 1)
    project, fields, [item_id] = build_board(gql, [1])
    ids = {"p": project["id"], "i": item_id, "f": fields["since"]["id"]}
    update = """mutation($p: ID!, $i: ID!, $f: ID!, $v: ProjectV2FieldValue!) {
        updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f, value: $v}) {
          projectV2Item { id } } }"""
    bad_variable = gql(update, {**ids, "v": {"date": "24/03/2025"}})
    assert "data" not in bad_variable
    assert bad_variable["errors"][0]["message"] == (
        "Variable $v of type ProjectV2FieldValue! was provided invalid value")
    literal = update.replace("$v: ProjectV2FieldValue!", "").replace("value: $v", 'value: {date: "soon"}')
    bad_literal = gql(literal, ids)
    assert bad_literal["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"
    assert bad_literal["errors"][0]["message"].endswith("has an invalid value. Expected type 'Date'.")
    with_time = gql(update, {**ids, "v": {"date": "2025-03-24T10:00:00Z"}})
    assert "errors" not in with_time, "a date and time is read as its date, as GitHub does"
    assert values_of(board(gql)["items"]["nodes"][0])["Stage since"] == "2025-03-24"


def test_the_organisations_projects_and_the_node_limit(github, gql):
    with github.world.lock:
        boards.add_project(github.world, DEMO_OWNER, "Sites", creator="demo-lead")
    listed = data_of(gql, '{ organization(login: "ohdsi-demo") { projectsV2(first: 10) { totalCount '
                          "nodes { number title } } } }")["organization"]["projectsV2"]
    assert listed == {"totalCount": 2,
                      "nodes": [{"number": 2, "title": "Sites"}, {"number": 1, "title": BOARD}]}
    huge = gql("""{ organization(login: "ohdsi-demo") { projectV2(number: 1) { items(first: 100) { nodes {
        fieldValues(first: 100) { nodes {
          ... on ProjectV2ItemFieldUserValue { users(first: 100) { totalCount } } } }
        } } } } }""")
    assert huge == {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": (
        "By the time this query traverses to the users connection, it is requesting up to 1,010,100 possible "
        "nodes which exceeds the maximum limit of 500,000.")}]}
