"""The Factory's project board over GraphQL: read the project's fields and items, send board.py's
mutations, and report what was done or could not be.

The event path reads one tracking issue's item (through `Issue.projectItems`) and the project's
fields in one query, and writes in one mutation document when something differs. The resync reads
the whole board, 100 items a page. The board never stops the tracking issues: what could not be
done is reported, and the next run reconciles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from factory_sync.board import (
    MUTATIONS_PER_DOCUMENT,
    Board,
    BoardError,
    Change,
    ChangeKind,
    Field,
    FieldNames,
    Item,
    Option,
    ProjectRef,
    Row,
    Wanted,
    add_item,
    check_fields,
    create_field,
    documents,
    item_changes,
    user_project,
    wanted_fields,
    with_fields,
    with_items,
)
from factory_sync.github_client import Client, GitHubError
from factory_sync.github_limits import PAGE_LIMIT
from factory_sync.markdown import counted
from factory_sync.portfolio import Status, StudyResult
from factory_sync.stages import Catalog, Progress
from factory_sync.stall import entered, utc_date

PROJECT_PERMISSIONS = {"organization_projects": "write"}  # added to the Factory token with a board
ITEMS_PER_PAGE = PAGE_LIMIT
ISSUES_PER_LOOKUP = 100  # issue ids asked in one query (aliases)
PERMISSION_HINT = ("give the App the organisation permission Projects: Read and write (App settings > "
                   "Permissions & events > Organization permissions > Projects), and have an owner of "
                   "{owner} accept the new permission on the installation (Settings > GitHub Apps > the App)")

_FIELDS = (f"fields(first: {PAGE_LIMIT}) {{ nodes {{ ... on ProjectV2FieldCommon {{ id name dataType }} "
           "... on ProjectV2SingleSelectField { options { id name } } } }")
_FIELD_ID = "field { ... on ProjectV2FieldCommon { id } }"
_VALUES = (f"fieldValues(first: {PAGE_LIMIT}) {{ nodes {{ "
           f"... on ProjectV2ItemFieldSingleSelectValue {{ optionId {_FIELD_ID} }} "
           f"... on ProjectV2ItemFieldDateValue {{ date {_FIELD_ID} }} }} }}")
_ITEM = f"id isArchived content {{ ... on Issue {{ id number repository {{ nameWithOwner }} }} }} {_VALUES}"
_PROJECT = "id title url"
_OWNER = "owner: repositoryOwner(login: $login) { __typename }"
BOARD_QUERY = f"""query($login: String!, $number: Int!) {{ {_OWNER}
  organization(login: $login) {{ projectV2(number: $number) {{ {_PROJECT} {_FIELDS}
    items(first: {ITEMS_PER_PAGE}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_ITEM} }} }} }} }} }}"""
ITEMS_QUERY = f"""query($login: String!, $number: Int!, $after: String!) {{
  organization(login: $login) {{ projectV2(number: $number) {{
    items(first: {ITEMS_PER_PAGE}, after: $after) {{ pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_ITEM} }} }} }} }} }}"""


@dataclass
class BoardReport:
    """What a run did to the board, and what it could not do."""

    created_fields: list[str] = field(default_factory=list)
    added: int = 0
    set: int = 0
    cleared: int = 0
    archived: int = 0
    documents: int = 0  # mutation documents sent
    errors: list[str] = field(default_factory=list)  # the board could not be kept (in part)
    warnings: list[str] = field(default_factory=list)  # options to add by hand
    dry_run: list[str] = field(default_factory=list)  # what a dry run would have done

    def line(self, url: str) -> str:
        counts = ((len(self.created_fields), "field", "created"), (self.added, "item", "added"),
                  (self.set, "value", "set"), (self.cleared, "value", "cleared"),
                  (self.archived, "item", "archived"))
        done = [f"{counted(count, what)} {how}" for count, what, how in counts if count]
        return f"Board {url}: {', '.join(done) or 'in step, nothing to change'}"


def row_of(result: StudyResult, progress: Progress | None, stalls: bool) -> Row | None:
    """The study's row, from its result and progress (None when it has no tracking issue to show).
    `stalls`: whether the run counts stalls (its progress has time in stage, stall-days above 0)."""
    if result.status in (Status.FAILED, Status.UNTRACKED) or result.issue is None or not result.stage_after:
        return None
    if progress is None:
        return Row(result.issue.number, result.stage_after, None, None)
    time = progress.time
    when = time.entered if time is not None else entered(progress)
    since = utc_date(when) if when else None
    stalled = None if since is None or time is None or not stalls else time.stalled
    return Row(result.issue.number, result.stage_after, since, stalled)


class ProjectBoard:
    """The Factory's board, read with `reader` and written with `writer` (the Factory's token, minted
    with Projects: write)."""

    def __init__(self, reader: Client, writer: Client, ref: ProjectRef, factory_repo: str, catalog: Catalog,
                 *, names: FieldNames = FieldNames(), dry_run: bool = False) -> None:  # noqa: B008
        self.reader, self.writer, self.ref, self.factory_repo = reader, writer, ref, factory_repo
        self.names, self.dry_run = names, dry_run
        self.catalog = catalog  # the Factory's: its stage names are the Stage field's options
        self.stalls = False  # whether the run counts stalls (then the Stalled field is kept)
        self.stage_names: tuple[str, ...] = ()  # stages of studies checked against their own catalog
        self.report = BoardReport()
        self.unavailable: str | None = None  # why this run cannot reach the board at all

    # -- the event path ------------------------------------------------------------------------------
    def keep_one(self, row: Row | None, retired: Sequence[int] = ()) -> BoardReport:
        """One study's row (and retired spares' items): one query, then writes only what differs."""
        numbers = ([row.issue] if row else []) + [n for n in retired if not row or n != row.issue]
        if self.unavailable:
            return self._unavailable()
        try:
            board, ids = self._read_issues(numbers)
            self._reconcile(board, [row] if row else [], retired, ids)
        except BoardError as exc:
            self.report.errors.append(str(exc))
        return self.report

    # -- the resync ----------------------------------------------------------------------------------
    def keep_all(self, rows: Iterable[Row], retired: Sequence[int] = ()) -> BoardReport:
        """Every study's row: the whole board read, 100 items a page, then only what differs written."""
        if self.unavailable:
            return self._unavailable()
        try:
            self._reconcile(self._read_board(), list(rows), retired, {})
        except BoardError as exc:
            self.report.errors.append(str(exc))
        return self.report

    def _wanted(self) -> tuple[Wanted, ...]:
        return wanted_fields(self.names, self.catalog, self.stalls, self.stage_names)

    def _unavailable(self) -> BoardReport:
        if self.unavailable and not self.report.errors:
            self.report.errors.append(f"{self.unavailable} The tracking issues were written all the same.")
        return self.report

    def check(self) -> str:
        """For the health check: the project is reachable and its fields usable (raises BoardError)."""
        board, _ = self._read_issues([])
        found = check_fields(board, self._wanted())
        if found.errors:
            raise BoardError(" ".join(found.errors))
        usable = ", ".join(repr(f.name) for f in found.usable.values()) or "none yet"
        made = (f"; a sync creates {', '.join(repr(w.name) for w in found.create)}" if found.create else "")
        return f"{board.title!r} ({board.url}): fields {usable}{made}" + (
            f"; {' '.join(found.warnings)}" if found.warnings else "")

    # -- reconciling ---------------------------------------------------------------------------------
    def _reconcile(self, board: Board, rows: list[Row], retired: Sequence[int], ids: dict[int, str]) -> None:
        found = check_fields(board, self._wanted())
        self.report.errors += found.errors
        self.report.warnings += found.warnings
        if found.create:
            if self.dry_run:
                # The values of fields not made yet cannot be planned.
                made = ", ".join(repr(want.name) for want in found.create)
                self.report.dry_run.append(f"create the fields {made}")
            else:
                creates = [create_field(board.id, want) for want in found.create]
                created = self._send(creates, ChangeKind.CREATE_FIELD)
                board = with_fields(board, created)
                found = check_fields(board, self._wanted())
        changes = item_changes(board, rows, found.usable, retired)
        if changes.add:
            if self.dry_run:
                self.report.dry_run.append(f"add {len(changes.add)} tracking issues to the board")
            else:
                missing = [number for number in changes.add if number not in ids]
                ids = {**ids, **self._issue_ids(missing)} if missing else ids
                adds = [add_item(board.id, ids[number], number) for number in changes.add if number in ids]
                added = self._send(adds, ChangeKind.ADD_ITEM)
                landed = zip([change.issue for change in adds], added, strict=True)
                board = with_items(board, {number: item for number, item in landed if number and item})
                changes = item_changes(board, rows, found.usable, retired)
        if self.dry_run:
            if changes.changes:
                self.report.dry_run.append(f"write {len(changes.changes)} values or archives")
            return
        self._send(list(changes.changes), None)

    def _send(self, changes: list[Change], purpose: ChangeKind | None) -> list:
        """Send the changes in documents; count what landed. Returns, in order, the fields created or the
        items added (None for one that failed; only those that landed for create-field); `purpose` None:
        values and archives, which return nothing."""
        made: list = []
        for start in range(0, len(changes), MUTATIONS_PER_DOCUMENT):
            batch = changes[start:start + MUTATIONS_PER_DOCUMENT]
            [text] = documents(batch)
            self.report.documents += 1
            try:
                _, body = self.writer.graphql(text, {})
            except GitHubError as exc:
                self.report.errors.append(f"Writing to the board {self.ref.url} failed: {exc} The next run "
                                          "writes what is still missing.")
                made += [None] * len(batch) if purpose is ChangeKind.ADD_ITEM else []
                continue
            data = body.get("data") or {}
            failed = _errors_by_alias(body.get("errors") or [])
            forbidden = [e for e in body.get("errors") or [] if e.get("type") == "FORBIDDEN"]
            if forbidden:
                raise BoardError(f"The App may read but not change the project {self.ref.url}: "
                                 + PERMISSION_HINT.format(owner=self.ref.owner) + ".")
            for index, change in enumerate(batch):
                answer = data.get(f"m{index}")
                if answer is None:
                    what = (f"{change.kind} {change.field_name or ''} of #{change.issue}" if change.issue
                            else f"{change.kind} {change.field_name}")
                    self.report.errors.append(f"The board {self.ref.url} refused to {what.strip()}: "
                                              f"{failed.get(f'm{index}', 'no answer')}")
                    if purpose is ChangeKind.ADD_ITEM:
                        made.append(None)
                    continue
                self._count(change)
                if purpose is ChangeKind.CREATE_FIELD:
                    made.append(_field(answer["projectV2Field"]))
                elif purpose is ChangeKind.ADD_ITEM:
                    made.append(answer["item"]["id"])
        if purpose is ChangeKind.ADD_ITEM:
            return made
        return [m for m in made if m is not None]

    def _count(self, change: Change) -> None:
        if change.kind is ChangeKind.CREATE_FIELD:
            self.report.created_fields.append(change.field_name or "")
        elif change.kind is ChangeKind.ADD_ITEM:
            self.report.added += 1
        elif change.kind is ChangeKind.SET:
            self.report.set += 1
        elif change.kind is ChangeKind.CLEAR:
            self.report.cleared += 1
        elif change.kind is ChangeKind.ARCHIVE:
            self.report.archived += 1

    # -- reading -------------------------------------------------------------------------------------
    def _query(self, text: str, variables: dict, doing: str) -> dict:
        try:
            _, body = self.reader.graphql(text, variables)
        except GitHubError as exc:
            raise BoardError(f"{doing} failed: {exc}") from exc
        errors = body.get("errors") or []
        data = body.get("data") or {}
        for error in errors:
            self._raise_for(error, data)
        return data

    def _raise_for(self, error: dict, data: dict) -> None:
        kind, path = error.get("type"), [str(p) for p in error.get("path") or []]
        ref = self.ref
        if kind == "FORBIDDEN":
            raise BoardError(f"The App's token may not read the project {ref.url}: "
                             + PERMISSION_HINT.format(owner=ref.owner) + ".")
        if kind == "NOT_FOUND" and path[:1] == ["organization"] and len(path) == 1:
            owner = (data.get("owner") or {}).get("__typename")
            if owner == "User":
                raise user_project(ref.owner)
            raise BoardError(f"project: there is no organisation {ref.owner!r} on GitHub; check `project` "
                             f"({ref.url}).")
        if kind == "NOT_FOUND" and path[:2] == ["organization", "projectV2"]:
            raise BoardError(
                f"project: {ref.owner} has no project number {ref.number} that the App can see ({ref.url}): "
                f"check the number in the project's URL, and that the App is installed on {ref.owner} "
                "(organisation projects are reached through the installation on their organisation).")
        raise BoardError(f"Reading the project {ref.url} failed: GitHub answered {kind or 'an error'} "
                         f"({error.get('message')}).")

    def _read_board(self) -> Board:
        variables = {"login": self.ref.owner, "number": self.ref.number}
        doing = f"Reading the project {self.ref.url}"
        project = self._project(self._query(BOARD_QUERY, variables, doing))
        items = list(project["items"]["nodes"])
        page = project["items"]["pageInfo"]
        while page["hasNextPage"]:
            more = self._project(self._query(ITEMS_QUERY, {**variables, "after": page["endCursor"]}, doing))
            items += more["items"]["nodes"]
            page = more["items"]["pageInfo"]
        return self._board(project, items)

    def _read_issues(self, numbers: Sequence[int]) -> tuple[Board, dict[int, str]]:
        """The project's fields and these Factory issues' items on it, in one query; the issues' ids."""
        owner, name = self.factory_repo.split("/", 1)
        project = f"projectV2(number: $number) {{ {_PROJECT} {_FIELDS} }}"
        parts = [f"{_OWNER} organization(login: $login) {{ {project} }}"]
        for n in numbers:  # the ids apart: without the permission GitHub drops the issue with its items
            parts.append(f"i{n}: repository(owner: $owner, name: $name) {{ issue(number: {n}) {{ id }} }}")
            parts.append(f"p{n}: repository(owner: $owner, name: $name) {{ issue(number: {n}) {{ "
                         f"projectItems(first: 50) {{ nodes {{ project {{ id }} {_ITEM} }} }} }} }}")
        repository = ", $owner: String!, $name: String!" if numbers else ""
        text = f"query($login: String!, $number: Int!{repository}) {{ {' '.join(parts)} }}"
        variables = {"login": self.ref.owner, "number": self.ref.number,
                     **({"owner": owner, "name": name} if numbers else {})}
        data = self._query(text, variables, f"Reading the project {self.ref.url}")
        project = self._project(data)
        items, ids = [], {}
        for n in numbers:
            issue = (data.get(f"i{n}") or {}).get("issue")
            if issue:
                ids[n] = issue["id"]
            on = ((data.get(f"p{n}") or {}).get("issue") or {}).get("projectItems") or {"nodes": []}
            items += [node for node in on["nodes"] if (node.get("project") or {}).get("id") == project["id"]]
        return self._board(project, items), ids

    def _issue_ids(self, numbers: Sequence[int]) -> dict[int, str]:
        """The node ids of Factory issues (to add them to the board), 100 a query."""
        owner, name = self.factory_repo.split("/", 1)
        found: dict[int, str] = {}
        for start in range(0, len(numbers), ISSUES_PER_LOOKUP):
            batch = numbers[start:start + ISSUES_PER_LOOKUP]
            asked = " ".join(f"i{n}: issue(number: {n}) {{ id }}" for n in batch)
            data = self._query(f"query($owner: String!, $name: String!) {{ repository(owner: $owner, "
                               f"name: $name) {{ {asked} }} }}", {"owner": owner, "name": name},
                               f"Reading the ids of {len(batch)} tracking issues")
            repo = data.get("repository") or {}
            found.update({n: repo[f"i{n}"]["id"] for n in batch if repo.get(f"i{n}")})
        return found

    def _project(self, data: dict) -> dict:
        project = (data.get("organization") or {}).get("projectV2")
        if project is None:
            raise BoardError(f"project: {self.ref.url} could not be read; check `project`.")
        return project

    def _board(self, project: dict, items: list[dict]) -> Board:
        fields = tuple(_field(node) for node in project.get("fields", {}).get("nodes", []) if node.get("id"))
        return Board(project["id"], project.get("title", ""), project.get("url", self.ref.url),
                     fields, tuple(self._item(node) for node in items))

    def _item(self, node: dict) -> Item:
        content = node.get("content") or {}
        mine = (content.get("repository") or {}).get("nameWithOwner", "").lower() == self.factory_repo.lower()
        values = {}
        for value in (node.get("fieldValues") or {}).get("nodes", []):
            field_id = (value.get("field") or {}).get("id")
            held = value.get("optionId") or value.get("date")
            if field_id and held:
                values[field_id] = str(held)[:10] if value.get("date") else str(held)
        return Item(node["id"], content.get("number") if mine else None, bool(node.get("isArchived")), values)


def _field(node: dict) -> Field:
    options = tuple(Option(o["id"], o["name"]) for o in node.get("options") or [])
    return Field(node["id"], node["name"], node["dataType"], options)


def _errors_by_alias(errors: list[dict]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        path = error.get("path") or []
        if path:
            found.setdefault(str(path[0]), f"{error.get('type', 'ERROR')} ({error.get('message')})")
    return found
