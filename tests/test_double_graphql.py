"""The double's GraphQL API answers like GitHub's, over HTTP, through PyGithub."""

from __future__ import annotations

import pytest
from github import UnknownObjectException

from factory_sync.github_limits import GRAPHQL_NODE_LIMIT
from factory_sync.study_query import EVENTS, ISSUES, LABELS, STUDIES_PER_QUERY, Piece, build_query
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER, STAGE_LABELS, STUDY_REPO
from github_double.graphql_api import rate_key
from github_double.world import TimelineEvent, utc
from graphql_kit import data_of

ISSUE_FIELDS = "number title url state stateReason createdAt closedAt author { login } body"


def repo_query(selection: str) -> str:
    return f'{{ repository(owner: "{DEMO_OWNER}", name: "DemoStudy") {{ {selection} }} }}'


def study_query(kind: str = LABELS, cursor: str | None = None, copies: int = 1, **where) -> tuple[str, dict]:
    """The product's query for one page of the demo study (`copies` times, under aliases s0, s1, ...)."""
    query = build_query([Piece(kind, STUDY_REPO, cursor, **where)] * copies)
    return query.text, query.variables


# -- the product's queries ------------------------------------------------------------------------
def test_the_study_query_reads_the_demo_study(github, mint_token, client):
    _, body = client(mint_token()).requester.graphql_query(*study_query())
    repository = body["data"]["s0"]
    assert repository["nameWithOwner"] == STUDY_REPO
    assert repository["url"] == f"{github.url}/{STUDY_REPO}"
    labels = {label["name"]: label["issues"]["nodes"] for label in repository["labels"]["nodes"]}
    assert list(labels) == [name for name, _, _ in STAGE_LABELS]
    assert repository["labels"]["pageInfo"]["hasNextPage"] is False

    [base_camp] = labels["stage:base-camp"]
    assert base_camp["number"] == 1 and base_camp["state"] == "CLOSED"
    assert (base_camp["createdAt"], base_camp["closedAt"]) == ("2025-03-03T09:00:00Z", "2025-03-21T16:00:00Z")
    assert base_camp["timelineItems"]["nodes"] == [
        {"__typename": "LabeledEvent", "createdAt": "2025-03-03T09:00:00Z", "actor": {"login": "demo-lead"},
         "label": {"name": "stage:base-camp"}},
        {"__typename": "ClosedEvent", "createdAt": "2025-03-21T16:00:00Z", "actor": {"login": "demo-lead"}},
    ]
    [protocol] = labels["stage:protocol-development"]
    assert protocol["state"] == "OPEN" and protocol["closedAt"] is None
    assert labels["stage:results-evaluation"] == []  # the pull request (#3) is not an issue

    rest_issue = client(mint_token()).get_repo(STUDY_REPO).get_issue(1)
    assert base_camp["url"] == rest_issue.html_url and base_camp["title"] == rest_issue.title


def test_the_study_queries_page_through_labels_issues_and_timelines(github, gql):
    world = github.world
    with world.lock:
        study = world.repo(STUDY_REPO)
        for n in range(55):
            world.ensure_label(study, f"stage:extra-{n:02d}")
        for n in range(53):
            world.import_issue(study, f"Busy {n}", None, "demo-lead", created_at=utc(2025, 5, 1, 0, n),
                               labels=["stage:extra-00"])
        busy = world.repo(STUDY_REPO).issues[4]
        for n in range(60):  # 120 events on one issue, past one timeline page
            for kind in ("unlabeled", "labeled"):
                busy.timeline.append(TimelineEvent(world.next_id(), kind, "demo-analyst",
                                                   utc(2025, 6, 1, 0, n), label="stage:extra-00"))

    labels, cursor = [], None
    while True:
        page = data_of(gql, *study_query(LABELS, cursor))["s0"]["labels"]
        labels += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert len(labels) == 6 + 55 and len({label["name"] for label in labels}) == 61

    extra = next(label for label in labels if label["name"] == "stage:extra-00")
    issues, page = list(extra["issues"]["nodes"]), extra["issues"]
    while page["pageInfo"]["hasNextPage"]:
        query = study_query(ISSUES, page["pageInfo"]["endCursor"], label="stage:extra-00")
        page = data_of(gql, *query)["s0"]["label"]["issues"]
        issues += page["nodes"]
    assert [i["title"] for i in issues] == [f"Busy {n}" for n in range(53)]  # oldest first, no repeats

    first_page = issues[0]["timelineItems"]
    assert len(first_page["nodes"]) == 40 and first_page["pageInfo"]["hasNextPage"]
    query = study_query(EVENTS, first_page["pageInfo"]["endCursor"], number=4)
    rest = data_of(gql, *query)["s0"]["issue"]["timelineItems"]
    assert len(rest["nodes"]) == 81 and not rest["pageInfo"]["hasNextPage"]
    kinds = [node["__typename"] for node in first_page["nodes"] + rest["nodes"]]
    assert kinds == ["LabeledEvent"] + ["UnlabeledEvent", "LabeledEvent"] * 60


def sized(text: str) -> str:
    return text.replace("  s0: repository", "  rateLimit { cost nodeCount }\n  s0: repository", 1)


def test_the_study_query_reports_its_size_as_github_computes_it(gql):
    text, variables = study_query()
    size = data_of(gql, sized(text), variables)["rateLimit"]
    # 10 labels + 10*20 issues + 10*20*40 events; 1 + 10 + 200 requests / 100
    assert size == {"nodeCount": 8_210, "cost": 2}


def test_a_full_batch_of_studies_stays_under_githubs_node_limit(gql):
    text, variables = study_query(copies=STUDIES_PER_QUERY)
    size = data_of(gql, sized(text), variables)["rateLimit"]
    assert size == {"nodeCount": 410_500, "cost": 106}
    assert size["nodeCount"] <= GRAPHQL_NODE_LIMIT
    # Eleven studies more would pass the limit: the double refuses the query, as GitHub does.
    body = gql(*study_query(copies=STUDIES_PER_QUERY + 11))
    assert [error["type"] for error in body["errors"]] == ["MAX_NODE_LIMIT_EXCEEDED"]
    assert "500,810" in body["errors"][0]["message"]


# -- batching and access ----------------------------------------------------------------------------
def test_twenty_repositories_in_one_query_with_one_missing(github, gql):
    with github.world.lock:
        installation = github.world.installations[DEMO_INSTALLATION_ID]
        for n in range(19):
            repo = github.world.add_repo(f"{DEMO_OWNER}/study-{n:02d}", labels=["stage:base-camp"])
            installation.repositories.append(repo.full_name)
    names = [f"study-{n:02d}" for n in range(19)] + ["NoSuchStudy"]
    aliases = " ".join(
        f'r{n}: repository(owner: "{DEMO_OWNER}", name: "{name}") {{ nameWithOwner labels(first: 5) '
        f'{{ totalCount nodes {{ name }} }} }}' for n, name in enumerate(names))
    query = f"{{ {aliases} }}"
    body = gql(query)
    found = [body["data"][f"r{n}"]["nameWithOwner"] for n in range(19)]
    assert found == [f"{DEMO_OWNER}/{name}" for name in names[:19]]
    assert body["data"]["r0"]["labels"] == {"totalCount": 1, "nodes": [{"name": "stage:base-camp"}]}
    assert body["data"]["r19"] is None
    assert body["errors"] == [{
        "type": "NOT_FOUND", "path": ["r19"], "locations": [{"line": 1, "column": query.index("r19:") + 1}],
        "message": f"Could not resolve to a Repository with the name '{DEMO_OWNER}/NoSuchStudy'."}]


def test_a_repository_outside_the_token_is_not_found(gql, mint_token, client):
    token = mint_token(repositories=["Factory"])
    body = gql(repo_query("id"), token=token)
    assert body == {"data": {"repository": None}, "errors": [{
        "type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 1, "column": 3}],
        "message": f"Could not resolve to a Repository with the name '{STUDY_REPO}'."}]}
    with pytest.raises(UnknownObjectException):  # how the product sees it through PyGithub
        client(token).requester.graphql_query(*study_query())


def test_reading_issues_needs_the_issues_permission(gql, mint_token):
    token = mint_token(permissions={"metadata": "read"})
    query = repo_query("name issues(first: 5) { totalCount }")
    body = gql(query, token=token)
    assert body["data"] == {"repository": None}  # `issues` is non-null: the null reaches the repository
    assert body["errors"] == [{"type": "FORBIDDEN", "path": ["repository", "issues"],
                               "locations": [{"line": 1, "column": query.index("issues") + 1}],
                               "message": "Resource not accessible by integration"}]
    assert data_of(gql, repo_query("name"), token=token) == {"repository": {"name": "DemoStudy"}}


def test_the_viewer_is_the_apps_bot(gql):
    assert data_of(gql, "{ viewer { login } }") == {"viewer": {"login": "factory-sync[bot]"}}


# -- what GitHub refuses ----------------------------------------------------------------------------
def test_a_request_without_a_query(gql):
    assert gql("") == {"errors": [{"message": "A query attribute must be specified and must be a string."}]}


def test_a_parse_error(gql):
    assert gql("foo") == {"errors": [{"message": 'Parse error on "foo" (IDENTIFIER) at [1, 1]',
                                      "locations": [{"line": 1, "column": 1}]}]}


def test_an_undefined_field(gql):
    assert gql("query Study { viewer { MADEUPFIELD } }") == {"errors": [{
        "path": ["query Study", "viewer", "MADEUPFIELD"],
        "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "MADEUPFIELD"},
        "locations": [{"line": 1, "column": 24}],
        "message": "Field 'MADEUPFIELD' doesn't exist on type 'User'"}]}


def test_arguments_github_would_refuse(gql):
    body = gql('{ repository(owner: "x") { labels(first: "ten", foo: 1) { totalCount } } }')
    assert [error["message"] for error in body["errors"]] == [
        "Field 'repository' is missing required arguments: name",
        "Argument 'first' on Field 'labels' has an invalid value. Expected type 'Int'.",
        "Field 'labels' doesn't accept argument 'foo'",
    ]
    assert body["errors"][0]["extensions"] == {"code": "missingRequiredArguments", "className": "Field",
                                               "name": "repository", "arguments": "name"}
    assert "data" not in body


def test_a_variable_of_the_wrong_type(gql):
    text, variables = study_query(EVENTS, None, number=4)
    body = gql(text, {**variables, "i0": "one"})
    assert body == {"errors": [{
        "extensions": {"value": "one", "problems": [{"path": [], "explanation":
                                                     "Int cannot represent non-integer value: 'one'"}]},
        "locations": [{"line": 1, "column": text.index("$i0") + 1}],
        "message": "Variable $i0 of type Int! was provided invalid value"}]}


def test_every_connection_needs_a_bound_of_at_most_100(gql):
    body = gql(repo_query("labels { totalCount } issues(first: 101) { totalCount }"))
    assert body["data"] == {"repository": None}
    assert [(e["type"], e["path"], e["message"]) for e in body["errors"]] == [
        ("MISSING_PAGINATION_BOUNDARIES", ["repository", "labels"],
         "You must provide a `first` or `last` value to properly paginate the `labels` connection."),
        ("EXCESSIVE_PAGINATION", ["repository", "issues"],
         "Requesting 101 records on the `issues` connection exceeds the `first` limit of 100 records."),
    ]


def test_a_query_over_500000_nodes_is_refused_before_it_runs(gql):
    def nested(inner: int) -> str:
        return repo_query(f"issues(first: 100) {{ nodes {{ labels(first: 100) {{ nodes {{ "
                          f"issues(first: {inner}) {{ totalCount }} }} }} }} }}")

    assert data_of(gql, nested(48))  # 100 + 100*100 + 100*100*48 = 490,100 nodes
    assert gql(nested(49)) == {"errors": [{  # 500,100 nodes
        "type": "MAX_NODE_LIMIT_EXCEEDED",
        "message": "By the time this query traverses to the issues connection, it is requesting up to "
                   "500,100 possible nodes which exceeds the maximum limit of 500,000."}]}


def test_a_cursor_the_double_did_not_make(gql):
    body = gql(repo_query('labels(first: 2, after: "bm90IGEgY3Vyc29y") { totalCount }'))
    assert body["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert body["errors"][0]["message"] == "`bm90IGEgY3Vyc29y` does not appear to be a valid cursor."


# -- reading ------------------------------------------------------------------------------------------
def test_labels_are_searched_by_name_and_description_ignoring_case(github, gql):
    with github.world.lock:
        study = github.world.repo(STUDY_REPO)
        github.world.ensure_label(study, "Stage:Odd-Case")
        github.world.ensure_label(study, "help", description="Which stage: ask here")
        github.world.ensure_label(study, "bug")
    page = data_of(gql, repo_query('labels(first: 20, query: "STAGE:") { totalCount nodes { name } }'))
    names = [label["name"] for label in page["repository"]["labels"]["nodes"]]
    assert names == [name for name, _, _ in STAGE_LABELS] + ["Stage:Odd-Case", "help"]


def test_labels_page_backwards_and_by_name(github, gql):
    query = repo_query("labels(last: 2, orderBy: {field: NAME, direction: DESC}) { totalCount "
                       "edges { cursor node { name color description url } } "
                       "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }")
    labels = data_of(gql, query)["repository"]["labels"]
    assert [edge["node"]["name"] for edge in labels["edges"]] == ["stage:base-camp",
                                                                  "stage:analysis-specifications"]
    assert labels["pageInfo"]["hasPreviousPage"] and not labels["pageInfo"]["hasNextPage"]
    assert labels["pageInfo"]["endCursor"] == labels["edges"][-1]["cursor"]
    assert labels["edges"][0]["node"] == {
        "name": "stage:base-camp", "color": "c5def5", "description": STAGE_LABELS[0][2],
        "url": f"{github.url}/{STUDY_REPO}/labels/stage%3Abase-camp"}

    before = repo_query(f'labels(last: 3, before: "{labels["pageInfo"]["startCursor"]}", '
                        "orderBy: {field: NAME, direction: DESC}) { nodes { name } }")
    assert [n["name"] for n in data_of(gql, before)["repository"]["labels"]["nodes"]] == [
        "stage:protocol-development", "stage:phenotype-development", "stage:network-execution"]


def test_issues_filtered_by_state_label_and_date(github, gql):
    def numbers(arguments: str) -> list[int]:
        page = data_of(gql, repo_query(f"issues(first: 10, {arguments}) {{ nodes {{ number }} }}"))
        return [node["number"] for node in page["repository"]["issues"]["nodes"]]

    assert numbers("states: [OPEN]") == [2]
    assert numbers("states: [OPEN, CLOSED], orderBy: {field: CREATED_AT, direction: DESC}") == [2, 1]
    assert numbers('labels: ["STAGE:BASE-CAMP", "nothing"]') == [1]
    assert numbers('filterBy: {since: "2025-03-22T00:00:00Z"}') == [2]
    assert numbers('filterBy: {states: [CLOSED], createdBy: "demo-lead"}') == [1]


def test_an_issue_matches_its_rest_face(github, gql, mint_token, client):
    data = data_of(gql, repo_query(f"id databaseId issue(number: 1) {{ id databaseId {ISSUE_FIELDS} "
                                   "labels(first: 5) { nodes { id name } } "
                                   "assignees(first: 5) { nodes { login } } repository { nameWithOwner } }"))
    issue = data["repository"]["issue"]
    rest = client(mint_token()).get_repo(STUDY_REPO).get_issue(1)
    assert (issue["id"], issue["databaseId"]) == (rest.node_id, rest.id)
    assert data["repository"]["id"] == rest.repository.node_id
    assert (issue["title"], issue["body"], issue["url"]) == (rest.title, rest.body, rest.html_url)
    assert (issue["state"], issue["stateReason"]) == ("CLOSED", "COMPLETED")
    assert issue["author"] == {"login": "demo-lead"}
    assert issue["labels"]["nodes"] == [{"id": rest.labels[0].node_id, "name": "stage:base-camp"}]
    assert issue["assignees"]["nodes"] == [{"login": "demo-lead"}]
    assert issue["repository"] == {"nameWithOwner": STUDY_REPO}


def test_an_issue_that_is_not_there(gql):
    body = gql(repo_query("issue(number: 3) { title }"))  # #3 is a pull request
    assert body["data"] == {"repository": {"issue": None}}
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Could not resolve to an Issue with the number of 3."


def test_timeline_items_by_type_and_time(github, gql):
    with github.world.lock:
        issue = github.world.repo(STUDY_REPO).issues[2]
        github.world.clock.advance(10)
        github.world.rename(issue, "Review the protocol", "demo-analyst")
    query = repo_query('issue(number: 2) { timelineItems(first: 10, itemTypes: [RENAMED_TITLE_EVENT], '
                       'since: "2025-04-01T00:00:00Z") { totalCount nodes { __typename '
                       "... on RenamedTitleEvent { previousTitle currentTitle actor { login } } } } }")
    items = data_of(gql, query)["repository"]["issue"]["timelineItems"]
    assert items == {"totalCount": 1, "nodes": [{
        "__typename": "RenamedTitleEvent", "previousTitle": "Review the protocol with the study team",
        "currentTitle": "Review the protocol", "actor": {"login": "demo-analyst"}}]}


def test_nodes_resolve_each_id_on_its_own(gql, mint_token, client):
    rest = client(mint_token()).get_repo(STUDY_REPO).get_issue(2)
    body = gql("query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Issue { number } } }",
                       {"ids": [rest.node_id, "bm9wZQ=="]})
    assert body["data"] == {"nodes": [{"__typename": "Issue", "number": 2}, None]}
    assert body["errors"] == [{"type": "NOT_FOUND", "path": ["nodes", 1],
                               "locations": [{"line": 1, "column": 23}],
                               "message": "Could not resolve to a node with the global id of 'bm9wZQ=='"}]


# -- writing ------------------------------------------------------------------------------------------
UPDATE = """
mutation($input: UpdateIssueInput!) {
  updateIssue(input: $input) { issue { title body state stateReason labels(first: 5) { nodes { name } } } }
}"""


def test_update_issue_is_recorded_on_the_timeline(github, gql, mint_token, client):
    gh = client(mint_token())
    issue = gh.get_repo(STUDY_REPO).get_issue(2)
    label_id = next(label.node_id for label in gh.get_repo(STUDY_REPO).get_labels()
                    if label.name == "stage:phenotype-development")
    changes = {"id": issue.node_id, "title": "Protocol reviewed", "body": "Done.", "state": "CLOSED",
               "labelIds": [label_id]}
    updated = data_of(gql, UPDATE, {"input": changes})["updateIssue"]["issue"]
    assert updated == {"title": "Protocol reviewed", "body": "Done.", "state": "CLOSED",
                       "stateReason": "COMPLETED",
                       "labels": {"nodes": [{"name": "stage:phenotype-development"}]}}

    events = [(e.event, e.actor.login) for e in gh.get_repo(STUDY_REPO).get_issue(2).get_events()][-4:]
    assert events == [("renamed", "factory-sync[bot]"), ("unlabeled", "factory-sync[bot]"),
                      ("labeled", "factory-sync[bot]"), ("closed", "factory-sync[bot]")]


def test_update_issue_refuses_a_body_over_65536_characters(gql, mint_token, client):
    issue = client(mint_token()).get_repo(STUDY_REPO).get_issue(2)
    body = gql(UPDATE, {"input": {"id": issue.node_id, "body": "x" * 65_537}})
    assert body["data"] == {"updateIssue": None}
    assert (body["errors"][0]["type"], body["errors"][0]["message"]) == (
        "UNPROCESSABLE", "Body is too long (maximum is 65536 characters)")
    assert data_of(gql, UPDATE, {"input": {"id": issue.node_id, "body": "x" * 65_536}})


def test_update_issue_needs_write_access(gql, mint_token, client):
    issue = client(mint_token()).get_repo(STUDY_REPO).get_issue(2)
    token = mint_token(permissions={"issues": "read"})
    body = gql(UPDATE, {"input": {"id": issue.node_id, "title": "No"}}, token=token)
    assert body["errors"][0]["type"] == "FORBIDDEN"
    assert issue.title != "No" and client(token).get_repo(STUDY_REPO).get_issue(2).title == issue.title


def test_labels_added_and_removed_by_id(gql, mint_token, client):
    gh = client(mint_token())
    repo = gh.get_repo(STUDY_REPO)
    issue = repo.get_issue(2)
    ids = {label.name: label.node_id for label in repo.get_labels()}
    add = ("mutation($input: AddLabelsToLabelableInput!) { addLabelsToLabelable(input: $input) { labelable { "
           "... on Issue { labels(first: 10) { nodes { name } } } } } }")
    adding = {"labelableId": issue.node_id, "labelIds": [ids["stage:analysis-specifications"]]}
    added = data_of(gql, add, {"input": adding})
    assert [n["name"] for n in added["addLabelsToLabelable"]["labelable"]["labels"]["nodes"]] == [
        "stage:protocol-development", "stage:analysis-specifications"]
    remove = add.replace("AddLabelsToLabelable", "RemoveLabelsFromLabelable").replace(
        "addLabelsToLabelable", "removeLabelsFromLabelable")
    removing = {"labelableId": issue.node_id, "labelIds": [ids["stage:protocol-development"]]}
    data_of(gql, remove, {"input": removing})
    assert [label.name for label in repo.get_issue(2).labels] == ["stage:analysis-specifications"]


def test_each_query_is_charged_its_cost_in_the_graphql_window(github, mint_token, client):
    requester = client(mint_token()).requester
    ask = "{ rateLimit { cost used remaining limit resetAt } }"
    before = requester.graphql_query(ask, {})[1]["data"]["rateLimit"]
    requester.graphql_query(*study_query())
    headers, body = requester.graphql_query(ask, {})
    after = body["data"]["rateLimit"]
    assert (before["cost"], before["limit"], before["remaining"]) == (1, 5000, 5000 - before["used"])
    assert after["used"] - before["used"] == 2 + 1  # the study query, then this one
    assert headers["x-ratelimit-resource"] == "graphql"
    assert int(headers["x-ratelimit-used"]) == after["used"]
    assert after["resetAt"] == before["resetAt"] and after["resetAt"].endswith("Z")


def test_a_query_costing_more_than_what_remains_is_refused(github, gql, mint_token):
    token = mint_token()
    with github.world.lock:
        window = github.world.rate_window(rate_key(github.world.token(token)), "graphql", 5000)
        window.used = 4990
    assert gql(*study_query(copies=STUDIES_PER_QUERY), token) == {"errors": [{  # costs 106
        "type": "RATE_LIMITED", "message": "API rate limit exceeded for installation ID 100."}]}
    assert data_of(gql, "{ rateLimit { remaining } }", token=token) == {"rateLimit": {"remaining": 9}}
