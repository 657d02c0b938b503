"""The export for R and spreadsheets: read back with Python's CSV reader and with R's read.csv."""

import csv
import json
import subprocess
from datetime import UTC, date, datetime, timedelta

from factory_sync.export import EXPORT_FILES, Record, write_export
from factory_sync.model import IssueEvent, Study, StudyIssue
from factory_sync.planner import Policy, plan
from factory_sync.portfolio import failed, result_of
from factory_sync.stages import DEFAULT_CATALOG, assess
from factory_sync.stall import with_time_in_stage

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
TODAY = date(2026, 2, 1)
HOSTILE_ACTOR = 'ann,"quoted"'


def study(repo: str, *issues: StudyIssue) -> Study:
    return Study(repo, f"https://github.com/{repo}", issues)


def issue(number: int, label: str, days: int, closed: int | None = None, title: str = "t") -> StudyIssue:
    events = [IssueEvent("labeled", T0 + timedelta(days=days), HOSTILE_ACTOR, label),
              IssueEvent("labeled", T0 + timedelta(days=days), "bob", "bug")]
    if closed is not None:
        events.append(IssueEvent("closed", T0 + timedelta(days=closed), None))
    return StudyIssue(number, title, f"https://github.com/x/{number}", closed is None,
                      T0 + timedelta(days=days),
                      T0 + timedelta(days=closed) if closed is not None else None, (label,), tuple(events))


def records() -> list[Record]:
    made = []
    studies = [study("o/Étude, one", issue(1, "stage:base-camp", 0, 3, 'A "title"\nwith a break'),
                     issue(2, "stage:protocol-development", 4)),
               study("o/two"), study("o/three", issue(7, "stage:base-camp", 20))]
    for one in studies:
        progress = with_time_in_stage(assess(one, DEFAULT_CATALOG), TODAY, 21)
        wanted = plan(one, progress, None, Policy(DEFAULT_CATALOG, None))
        made.append(Record(result_of(one.repo, wanted, None), one, progress))
    made.append(Record(failed("o/gone", "GitHub answered 404, no repository"), None, None))
    return made


def read(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_files_are_rfc_4180_utf_8_and_read_back_as_written(tmp_path):
    paths = write_export(str(tmp_path / "export"), records(), TODAY, 21)
    assert [path.name for path in paths] == list(EXPORT_FILES)
    raw = (tmp_path / "export" / "studies.csv").read_bytes()
    assert raw.startswith(b"study,status,") and b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    studies = {row["study"]: row for row in read(tmp_path / "export" / "studies.csv")}
    assert list(studies) == ["o/Étude, one", "o/two", "o/three", "o/gone"]
    one = studies["o/Étude, one"]
    assert (one["stage"], one["stage_since"], one["days_in_stage"], one["stalled"], one["complete"]) == \
        ("Protocol Development", "2026-01-09", "23", "TRUE", "FALSE")
    assert one["stalled_since"] == "2026-01-30" and one["last_activity"] == "2026-01-09T09:30:00Z"
    assert studies["o/three"]["stalled"] == "FALSE" and studies["o/two"]["stage"] == "Not started"
    assert studies["o/gone"]["status"] == "failed" and studies["o/gone"]["stage"] == ""
    stages = read(tmp_path / "export" / "stages.csv")
    assert len(stages) == 3 * len(DEFAULT_CATALOG.stages)
    base = next(row for row in stages if row["study"] == "o/Étude, one" and row["position"] == "1")
    assert (base["status"], base["started"], base["completed"], base["days_taken"]) == \
        ("complete", "2026-01-05T09:30:00Z", "2026-01-08T09:30:00Z", "3")
    history = read(tmp_path / "export" / "history.csv")
    assert {row["event"] for row in history} == {"labeled", "closed"}  # "bug" is not a stage event
    assert history[0]["actor"] == HOSTILE_ACTOR and {row["actor"] for row in history} >= {"ghost"}
    document = json.loads((tmp_path / "export" / "portfolio.json").read_text(encoding="utf-8"))
    assert document["generated_on"] == "2026-02-01" and document["stall_days"] == 21
    assert [s["study"] for s in document["studies"]] == list(studies)
    assert document["studies"][0]["stages"][0]["days_taken"] == "3"


R_READ = r"""
args <- commandArgs(trailingOnly = TRUE)
studies <- read.csv(file.path(args[1], "studies.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
stages <- read.csv(file.path(args[1], "stages.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
history <- read.csv(file.path(args[1], "history.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
cat(nrow(studies), nrow(stages), nrow(history), "\n", sep = "|")
cat(studies$study[1], studies$stalled[1], class(studies$stalled), studies$days_in_stage[1],
    as.character(as.Date(studies$stage_since[1])), "\n", sep = "|")
cat(history$actor[1], as.character(as.POSIXct(history$time[1], format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")),
    "\n", sep = "|")
"""


def test_r_reads_them_with_read_csv(tmp_path):
    folder = tmp_path / "export"
    write_export(str(folder), records(), TODAY, 21)
    script = tmp_path / "read.R"
    script.write_text(R_READ, encoding="utf-8")
    done = subprocess.run(["Rscript", "--vanilla", str(script), str(folder)], capture_output=True, text=True,
                          timeout=120, check=False, env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"4|{3 * len(DEFAULT_CATALOG.stages)}|{len(read(folder / 'history.csv'))}|"
    assert lines[1] == "o/Étude, one|TRUE|logical|23|2026-01-09|"
    assert lines[2] == f"{HOSTILE_ACTOR}|2026-01-25 09:30:00|"  # o/three sorts first
