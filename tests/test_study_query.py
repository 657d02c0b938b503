"""Reading many studies in batched GraphQL queries: which queries, and what the answers make. Pure:
the answers are built here in GitHub's shape (the double's answers are tested in test_resync.py)."""

from __future__ import annotations

from factory_sync.failures import Failure, FailureKind
from factory_sync.github_limits import GRAPHQL_NODE_LIMIT
from factory_sync.study_query import (
    EVENTS,
    ISSUES,
    LABELS,
    PIECES_PER_QUERY,
    QUERY_NODE_BUDGET,
    STUDIES_PER_QUERY,
    StudyReading,
)

CLOSED = "2025-02-01T10:00:00Z"
LATER = "2025-03-01T10:00:00Z"


def page(nodes: list, cursor: str | None = None) -> dict:
    return {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor}, "nodes": nodes}


def event(kind: str, at: str, label: str | None = None) -> dict:
    node = {"__typename": kind, "createdAt": at, "actor": {"login": "lead"}}
    return {**node, "label": {"name": label}} if label else node


def issue(number: int, label: str, closed: bool = False, more_events: str | None = None) -> dict:
    events = [event("LabeledEvent", "2025-01-01T10:00:00Z", label)]
    if closed:
        events.append(event("ClosedEvent", CLOSED))
    return {"number": number, "title": f"Issue {number}", "url": f"https://github.com/o/r/issues/{number}",
            "state": "CLOSED" if closed else "OPEN", "createdAt": "2025-01-01T09:00:00Z",
            "closedAt": CLOSED if closed else None, "author": {"login": "lead"},
            "authorAssociation": "MEMBER",
            "timelineItems": page(events, more_events)}


def repository(repo: str, labels: list[dict], more_labels: str | None = None) -> dict:
    return {"nameWithOwner": repo, "url": f"https://github.com/{repo}", "labels": page(labels, more_labels)}


def label(name: str, issues: list[dict], more_issues: str | None = None) -> dict:
    return {"name": name, "issues": page(issues, more_issues)}


def test_first_pages_go_fifty_studies_to_a_query_within_githubs_node_limit():
    reading = StudyReading([f"o/s{n:03d}" for n in range(120)] + ["o/s000"])  # asked twice, read once
    queries = []
    while (query := reading.next_query()) is not None:
        queries.append(query)
    assert [len(q.pieces) for q in queries] == [STUDIES_PER_QUERY, STUDIES_PER_QUERY, 20]
    assert all(q.nodes <= QUERY_NODE_BUDGET <= GRAPHQL_NODE_LIMIT for q in queries)
    assert queries[0].nodes == 410_500
    first = queries[0]
    assert first.variables["o0"] == "o" and first.variables["n0"] == "s000" and first.variables["c0"] is None
    assert "s49: repository(owner: $o49, name: $n49)" in first.text
    assert "fragment StudyLabel on Label" in first.text


def test_a_study_is_built_from_its_pages_and_follow_ups_are_batched_across_studies():
    reading = StudyReading(["o/a", "o/b", "o/c"])
    first = reading.next_query()
    reading.answered(first, {
        # a: one more page of labels, one more page of stage:one's issues, one more page of #1's events
        "s0": repository("o/a", [label("stage:one", [issue(1, "stage:one", more_events="e1"),
                                                     issue(2, "stage:one", closed=True)], "i1")], "l1"),
        "s1": repository("o/b", [label("stage:one", [issue(7, "stage:one", closed=True)])]),
        "s2": repository("o/c", [label("stage:one", [issue(4, "stage:one", more_events="e4")])]),
    }, [])
    assert set(reading.studies) == {"o/b"}  # complete after one query
    follow_up = reading.next_query()
    assert [(p.kind, p.repo, p.cursor, p.label, p.number) for p in follow_up.pieces] == [
        (EVENTS, "o/a", "e1", None, 1), (ISSUES, "o/a", "i1", "stage:one", None),
        (LABELS, "o/a", "l1", None, None), (EVENTS, "o/c", "e4", None, 4)]
    assert reading.next_query() is None  # all four pages went in that one query
    reading.answered(follow_up, {
        "s0": {"issue": {"timelineItems": page([event("UnlabeledEvent", LATER, "stage:one")])}},
        "s1": {"label": {"issues": page([issue(3, "stage:one")])}},
        "s2": repository("o/a", [label("stage:two", [issue(3, "stage:two")])]),  # #3 read already
        "s3": {"issue": {"timelineItems": page([event("ClosedEvent", CLOSED)])}},
    }, [])
    assert reading.next_query() is None and reading.failures == {}
    a = reading.studies["o/a"]
    assert [(i.number, i.labels) for i in a.issues] == [(1, ("stage:one",)), (2, ("stage:one",)),
                                                         (3, ("stage:one", "stage:two"))]
    assert [e.kind for e in a.issues[0].events] == ["labeled", "unlabeled"]  # both pages of #1's timeline
    assert [e.label for e in a.issues[2].events] == ["stage:one"]  # its timeline as first read
    assert [e.kind for e in reading.studies["o/c"].issues[0].events] == ["labeled", "closed"]


def test_an_error_under_one_alias_fails_only_that_study():
    reading = StudyReading(["o/a", "o/missing", "o/secret"])
    query = reading.next_query()
    reading.answered(query, {"s0": repository("o/a", []), "s1": None,
                             "s2": {"nameWithOwner": "o/secret", "url": "u", "labels": None}}, [
        {"type": "NOT_FOUND", "path": ["s1"],
         "message": "Could not resolve to a Repository with the name 'o/missing'."},
        {"type": "FORBIDDEN", "path": ["s2", "labels"], "message": "Resource not accessible by integration"},
    ])
    assert list(reading.studies) == ["o/a"]
    assert reading.failures == {
        "o/missing": Failure(FailureKind.ANSWERED, 404,
                             "GitHub answered 404 (Could not resolve to a Repository with the name "
                             "'o/missing'.)"),
        "o/secret": Failure(FailureKind.ANSWERED, 403,
                            "GitHub answered 403 (Resource not accessible by integration)"),
    }


def test_a_failed_query_is_sent_again_one_study_at_a_time():
    reading = StudyReading(["o/a", "o/bad", "o/c"])
    reading.query_failed(reading.next_query(), Failure(FailureKind.ANSWERED, 502, "GitHub answered 502"))
    alone = [reading.next_query() for _ in range(3)]
    assert [[p.repo for p in q.pieces] for q in alone] == [["o/a"], ["o/bad"], ["o/c"]]
    assert all(q.pieces[0].alone for q in alone)
    reading.answered(alone[0], {"s0": repository("o/a", [])}, [])
    reading.query_failed(alone[1], Failure(FailureKind.ANSWERED, 502, "GitHub answered 502"))
    reading.answered(alone[2], {"s0": repository("o/c", [])}, [])
    assert set(reading.studies) == {"o/a", "o/c"}
    assert reading.failures == {"o/bad": Failure(FailureKind.ANSWERED, 502, "GitHub answered 502")}


def test_an_answer_without_data_fails_the_query_as_a_whole():
    reading = StudyReading(["o/a", "o/b"])
    reading.answered(reading.next_query(), None, [{"message": "Something went wrong (timeout)"}])
    assert [p.alone for p in reading.next_query().pieces] == [True]


def test_when_github_keeps_failing_the_reading_stops():
    reading = StudyReading([f"o/s{n}" for n in range(200)], give_up_after=5)
    sent = 0
    while (query := reading.next_query()) is not None:
        sent += 1
        reading.query_failed(query, Failure(FailureKind.ANSWERED, 503, "GitHub answered 503"))
    assert sent == 5  # one batch, then four of its studies alone
    assert len(reading.failures) == 200 and not reading.studies
    assert reading.failures["o/s199"].answer == (
        "GitHub answered 503; stopped reading after 5 failed requests in a row")


def test_a_refused_query_is_sent_again_as_it_was_and_giving_up_fails_what_is_left():
    reading = StudyReading(["o/a", "o/b"])
    query = reading.next_query()
    reading.requeue(query)
    assert reading.next_query().pieces == query.pieces
    reading.give_up(Failure(FailureKind.ANSWERED, 403, "rate limit used up"))
    assert reading.next_query() is None and set(reading.failures) == {"o/a", "o/b"}


def test_follow_up_pages_ride_along_and_fill_a_query_up_to_its_limit():
    reading = StudyReading([f"o/s{n:03d}" for n in range(PIECES_PER_QUERY + 5)])
    sizes = []
    while (query := reading.next_query()) is not None:
        sizes.append(len(query.pieces))
        answers = {}
        for i, piece in enumerate(query.pieces):  # every first page has an issue with more events
            busy = label("stage:one", [issue(1, "stage:one", more_events="e")])
            answers[f"s{i}"] = (repository(piece.repo, [busy]) if piece.kind == LABELS
                                else {"issue": {"timelineItems": page([])}})
        reading.answered(query, answers, [])
    # 50 and 50 first pages; the last 5 with 95 follow-ups; the 10 follow-ups left.
    assert sizes == [STUDIES_PER_QUERY, STUDIES_PER_QUERY, PIECES_PER_QUERY, 10]
    assert len(reading.studies) == PIECES_PER_QUERY + 5
