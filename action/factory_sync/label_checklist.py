"""The stage labels a study repository still lacks, and the `gh` command that adds each. Plain functions.

A study works before its labels exist (factory-sync reads its issues, and a stage with no label is
pending), but its leads can only apply labels that exist; so the health check, run in a study
repository, lists the catalog's labels the repository lacks. Label names are compared as GitHub
compares them, ignoring case: a label whose name differs only in case already counts (GitHub would
refuse to create the catalog's name beside it), so its command renames it to the catalog's spelling.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from factory_sync.github_limits import LABEL_DESCRIPTION_LIMIT
from factory_sync.stages import Catalog, Stage

# The colours of new stage labels, in catalog order (GitHub's label palette, light to strong).
COLOURS = ("c5def5", "bfd4f2", "d4c5f9", "fef2c0", "fbca04", "0e8a16")


@dataclass(frozen=True)
class LabelGap:
    """A catalog stage whose label the repository lacks, or holds spelt in another case."""

    stage: Stage
    position: int  # in the catalog, from 0: picks the new label's colour
    existing: str | None = None  # the repository's label that differs only in case; None: missing


def label_gaps(catalog: Catalog, existing: Iterable[str]) -> list[LabelGap]:
    """The catalog's labels the repository lacks, or holds in another case, in catalog order."""
    by_case = {name.lower(): name for name in existing}
    gaps = []
    for position, stage in enumerate(catalog.stages):
        found = by_case.get(stage.label.lower())
        if found != stage.label:
            gaps.append(LabelGap(stage, position, found))
    return gaps


def command(gap: LabelGap, repo: str) -> str:
    """The `gh` command, safe to paste into a POSIX shell, that gives `repo` the stage's label."""
    where = f"--repo {shlex.quote(repo)}"
    if gap.existing is not None:
        return f"gh label edit {quoted(gap.existing)} {where} --name {quoted(gap.stage.label)}"
    description = gap.stage.name[:LABEL_DESCRIPTION_LIMIT]
    colour = COLOURS[gap.position % len(COLOURS)]
    return (f"gh label create {quoted(gap.stage.label)} {where} --description {quoted(description)} "
            f"--color {colour}")


def quoted(text: str) -> str:
    """`text` as one word of a POSIX shell, always in single quotes (which shlex leaves off safe words)."""
    word = shlex.quote(text)
    return word if word.startswith("'") else f"'{text}'"


def describe_gaps(gaps: list[LabelGap], total: int, source: str) -> str:
    """The health check's one line: which labels need adding or renaming, or that all are there."""
    if not gaps:
        return f"all {total} stage labels of the catalog from {source} are present"
    missing = [gap.stage.label for gap in gaps if gap.existing is None]
    cased = [gap for gap in gaps if gap.existing is not None]
    parts = []
    if missing:
        parts.append(f"{len(missing)} of the {total} stage labels of the catalog from {source} are missing: "
                     f"{', '.join(repr(label) for label in missing)} (a study works before its labels "
                     "exist, but its leads can only apply labels that exist)")
    if cased:
        parts.append("differing only in case (it works as is; renaming matches the catalog): " + ", ".join(
            f"{gap.stage.label!r} is spelt {gap.existing!r}" for gap in cased))
    return "; ".join(parts) + "; the commands below fix them"


def checklist(gaps: list[LabelGap], repo: str) -> list[str]:
    """The commands that give `repo` every stage label of its catalog, one a line."""
    return [command(gap, repo) for gap in gaps]
