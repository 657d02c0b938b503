"""The export for R and spreadsheets (input export-dir): where every study stands, as CSV and JSON.

- studies.csv: one row per study: study, tracking issue, stage, stage since, days in stage,
  stalled (since when), complete, last activity;
- stages.csv: one row per study and catalog stage: status, started, completed, days taken;
- history.csv: every stage event of every study: study, issue, event, label, actor, time;
- portfolio.json: all of it, with the day it was made and the stall rule.

UTF-8 without a byte-order mark, RFC 4180 (fields quoted as needed, CRLF line ends), ISO 8601
dates and times in UTC. The tables are made by plain functions; `write_export` writes the files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from factory_sync.errors import FactorySyncError
from factory_sync.model import GHOST, Study, as_utc, is_stage_label
from factory_sync.portfolio import StudyResult
from factory_sync.stages import Progress, StageStatus
from factory_sync.stall import utc_date

EXPORT_FILES = ("studies.csv", "stages.csv", "history.csv", "portfolio.json")
STUDY_COLUMNS = ("study", "status", "tracking_issue", "tracking_issue_url", "stage", "stage_label",
                 "stage_since", "days_in_stage", "stalled", "stalled_since", "complete", "last_activity")
STAGE_COLUMNS = ("study", "position", "stage", "stage_label", "status", "started", "completed", "days_taken",
                 "issues")
HISTORY_COLUMNS = ("study", "issue", "event", "label", "actor", "time")


@dataclass(frozen=True)
class Record:
    """One study of a resync: its result and, when it was read, the study and its progress."""

    result: StudyResult
    study: Study | None
    progress: Progress | None


def iso_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def study_rows(records: Sequence[Record]) -> list[dict[str, str]]:
    rows = []
    for record in records:
        result, progress, study = record.result, record.progress, record.study
        issue = result.issue
        time = progress.time if progress is not None else None
        activity = [event.at for issue_ in study.issues for event in issue_.events] if study else []
        activity += [issue_.created_at for issue_ in study.issues] if study else []
        rows.append({
            "study": result.study, "status": result.status.value,
            "tracking_issue": str(issue.number) if issue else "",
            "tracking_issue_url": issue.url if issue else "",
            "stage": result.stage_after or "", "stage_label": result.stage_label or "",
            "stage_since": iso_date(utc_date(time.entered)) if time and time.entered else "",
            "days_in_stage": str(time.days) if time and time.days is not None else "",
            "stalled": _bool(time.stalled) if time else "",
            "stalled_since": iso_date(time.stalled_since) if time else "",
            "complete": _bool(progress.finished) if progress is not None else "",
            "last_activity": iso_time(max(activity)) if activity else "",
        })
    return rows


def stage_rows(records: Sequence[Record]) -> list[dict[str, str]]:
    rows = []
    for record in records:
        if record.progress is None:
            continue
        for position, entry in enumerate(record.progress.stages, 1):
            taken = (entry.completed - entry.started).days if entry.completed and entry.started else None
            rows.append({
                "study": record.result.study, "position": str(position), "stage": entry.stage.name,
                "stage_label": entry.stage.label, "status": entry.status.value,
                "started": iso_time(entry.started),
                "completed": iso_time(entry.completed) if entry.status is StageStatus.COMPLETE else "",
                "days_taken": str(max(taken, 0)) if taken is not None else "",
                "issues": " ".join(str(issue.number) for issue in entry.issues),
            })
    return rows


def history_rows(records: Sequence[Record]) -> list[dict[str, str]]:
    rows = []
    for record in records:
        if record.study is None:
            continue
        for issue in record.study.issues:
            for event in issue.events:
                if event.kind in ("labeled", "unlabeled") and not is_stage_label(event.label or ""):
                    continue
                rows.append({"study": record.result.study, "issue": str(issue.number), "event": event.kind,
                             "label": event.label or "", "actor": event.actor or GHOST,
                             "time": iso_time(event.at)})
    rows.sort(key=lambda row: (row["study"].lower(), row["time"], int(row["issue"])))
    return rows


def csv_text(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    """RFC 4180: a header line, fields quoted when they hold a comma, a quote or a line break, CRLF."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def portfolio_json(records: Sequence[Record], today: date, stall_days: int) -> str:
    studies = study_rows(records)
    stages, history = stage_rows(records), history_rows(records)
    for study in studies:
        study["stages"] = [row for row in stages if row["study"] == study["study"]]  # type: ignore[assignment]
        study["history"] = [row for row in history if row["study"] == study["study"]]  # type: ignore[assignment]
    document = {"generated_on": today.isoformat(), "stall_days": stall_days, "studies": studies}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_export(folder: str, records: Sequence[Record], today: date, stall_days: int) -> list[Path]:
    """Write the four files into `folder` (made if missing); the paths written."""
    target = Path(folder)
    texts = {
        "studies.csv": csv_text(STUDY_COLUMNS, study_rows(records)),
        "stages.csv": csv_text(STAGE_COLUMNS, stage_rows(records)),
        "history.csv": csv_text(HISTORY_COLUMNS, history_rows(records)),
        "portfolio.json": portfolio_json(records, today, stall_days),
    }
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            with open(target / name, "w", encoding="utf-8", newline="") as file:
                file.write(text)
    except OSError as exc:
        raise FactorySyncError(f"export-dir: cannot write {target} ({exc.strerror}); give a folder the job "
                               "can write, such as export (relative to the workspace)") from exc
    return [target / name for name in EXPORT_FILES]


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"
