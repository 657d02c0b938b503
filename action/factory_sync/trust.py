"""Who may move a study's stage.

On a public study repository anyone can open an issue, and its author can edit its title, close it
and reopen it; only people with triage access or more can label it, except that an issue template
or form applies its labels at creation, on the author's behalf. So an issue whose author has no role
in the repository (GitHub's authorAssociation is not OWNER, MEMBER or COLLABORATOR) counts only by
what others did to it: a stage label counts once someone other than its author applied it, and the
issue is open or closed as others last left it (open until then). With `trust_authors` (input
trust-authors, for private repositories, where every author has a role) everyone's actions count.
"""

from __future__ import annotations

from dataclasses import replace

from factory_sync.model import StudyIssue

TRUSTED = ("OWNER", "MEMBER", "COLLABORATOR")


def counted(issue: StudyIssue, association: str | None, trust_authors: bool) -> StudyIssue | None:
    """The issue as it counts towards the study's stages; None when none of its stage labels counts."""
    if trust_authors or association in TRUSTED:
        return issue
    author = (issue.author or "").lower()
    by_others = tuple(event for event in issue.events if (event.actor or "").lower() != author)
    applied = {(event.label or "").lower() for event in by_others if event.kind == "labeled"}
    labels = tuple(label for label in issue.labels if label.lower() in applied)
    if not labels:
        return None
    states = [event for event in by_others if event.kind in ("closed", "reopened")]
    closed = bool(states) and states[-1].kind == "closed"
    return replace(issue, labels=labels, events=by_others, open=not closed,
                   closed_at=states[-1].at if closed else None)
