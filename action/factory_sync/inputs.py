"""The action's inputs, checked once, with a message for each mistake that says how to fix it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from factory_sync.app_tokens import check_private_key, parse_app_id
from factory_sync.board import FieldNames, ProjectRef, parse_project
from factory_sync.errors import FactorySyncError
from factory_sync.events import DISPATCH_EVENT_TYPE
from factory_sync.factory_config import PortfolioInputs, portfolio_inputs
from factory_sync.github_client import (
    LONGEST_WAIT,
    LONGEST_WAIT_LIMIT,
    RETRY_BACKOFF,
    SECONDARY_RATE_WAIT,
    TIMEOUT_SECONDS,
    WRITE_INTERVAL,
    Waits,
)
from factory_sync.github_limits import EVENT_TYPE_LIMIT
from factory_sync.model import is_repo_name
from factory_sync.planner import Policy
from factory_sync.portfolio import WRITE_BUDGET
from factory_sync.runner import Runner
from factory_sync.stages import DEFAULT_CATALOG, Catalog, load_catalog
from factory_sync.tracking_block import TRACKING_LABEL

WRITE_INTERVAL_LIMIT = 60.0
WRITE_BUDGET_LIMIT = 100_000
RATE_LIMIT_WAIT_LIMIT = 900.0
HTTP_TIMEOUT_LIMITS = (1, 600)  # whole seconds: PyGithub takes no fractions
RETRY_BACKOFF_LIMIT = 60.0
# Where an empty app-id or private-key usually comes from.
EMPTY_BECAUSE = ("a secret read as `vars.` (or a variable read as `secrets.`) gives exactly that: store "
                 "the App's id as a variable and its key as a secret (Settings > Secrets and variables > "
                 "Actions), or check the name")


class Mode(StrEnum):
    SYNC = "sync"  # write the tracking issue
    DISPATCH = "dispatch"  # ask the Factory to, by a repository_dispatch
    CHECK = "check"  # the health check


@dataclass(frozen=True)
class Settings:
    app_id: int | str | None  # None only in mode dispatch, which does not use the App
    private_key: str | None
    factory_repo: str
    installation_id: int | None
    factory_issue: int | None
    token: str
    catalog: Catalog
    api_url: str
    create_missing: bool
    dry_run: bool
    tracking_label: str
    run_url: str | None
    mode: Mode = Mode.SYNC
    discover: bool = False  # a resync also looks for untracked studies among the installation's repos
    dispatch_event_type: str = DISPATCH_EVENT_TYPE
    write_interval: float = WRITE_INTERVAL  # seconds between writes, as GitHub asks
    write_budget: int = WRITE_BUDGET  # the most writes one resync makes
    trust_authors: bool = False  # every issue author's own actions move stages (see trust.counted)
    http_timeout: int = TIMEOUT_SECONDS  # seconds to wait for one answer from GitHub
    rate_limit_wait: float = SECONDARY_RATE_WAIT  # after a secondary rate limit without Retry-After
    retry_backoff: float = RETRY_BACKOFF  # between retries after a 5xx, a dropped connection, a timeout
    longest_wait: float = LONGEST_WAIT  # the longest single wait for a rate limit
    project: ProjectRef | None = None  # the Factory's project board; None: no board
    board_fields: FieldNames = FieldNames()  # noqa: RUF009 (frozen) the names of the fields the board keeps
    portfolio: PortfolioInputs = PortfolioInputs()  # noqa: RUF009 (frozen) config, stall-days, dashboard, export

    @property
    def waits(self) -> Waits:
        return Waits(timeout=self.http_timeout, rate_limit=min(self.rate_limit_wait, self.longest_wait),
                     backoff=self.retry_backoff, longest=self.longest_wait)

    @property
    def policy(self) -> Policy:
        return Policy(self.catalog, self.run_url, self.create_missing, self.tracking_label)


def read_settings(runner: Runner) -> Settings:
    # Secrets are masked before anything else can print them.
    private_key = runner.input("private-key")
    token = runner.input("token")
    runner.mask(private_key)
    runner.mask(token)
    mode = mode_from(runner.input("mode"))
    app_id = runner.input("app-id")
    if mode is not Mode.DISPATCH:
        for name, value in (("app-id", app_id), ("private-key", private_key)):
            if not value:
                raise FactorySyncError(f"Input `{name}` came through empty: {EMPTY_BECAUSE}. It is needed "
                                       "unless `mode` is `dispatch`.")
    stages = runner.input("stages")
    settings = Settings(
        app_id=parse_app_id(app_id) if app_id else None,
        private_key=private_key or None,
        factory_repo=repo_name(runner.input("factory-repo", required=True), "factory-repo"),
        installation_id=positive_int(runner.input("installation-id"), "installation-id"),
        factory_issue=positive_int(runner.input("factory-issue"), "factory-issue"),
        token=token,
        catalog=(catalog := catalog_from(stages)),  # the inputs are checked in the order they are listed
        api_url=api_url(runner.input("github-api-url") or runner.api_url),
        create_missing=runner.bool_input("create-missing", default=True),
        dry_run=runner.bool_input("dry-run", default=False),
        tracking_label=runner.input("tracking-label") or TRACKING_LABEL,
        run_url=runner.run_url,
        mode=mode,
        discover=runner.bool_input("discover", default=False),
        trust_authors=runner.bool_input("trust-authors", default=False),
        dispatch_event_type=event_type(runner.input("dispatch-event-type") or DISPATCH_EVENT_TYPE),
        **pacing(runner),
        project=parse_project(runner.input("project")),
        board_fields=board_fields(runner),
        portfolio=portfolio_inputs(runner.input, catalog if stages else None, stages),
    )
    if private_key:
        check_private_key(private_key)
    check_token(token, mode, settings.factory_repo)
    return settings


def pacing(runner: Runner) -> dict[str, float]:
    """The waits and the write budget, each within its bounds."""
    value = runner.input
    return {
        "write_interval": bounded(value("write-interval"), "write-interval", WRITE_INTERVAL, 0.0,
                                  WRITE_INTERVAL_LIMIT),
        "write_budget": int(bounded(value("write-budget"), "write-budget", WRITE_BUDGET, 1,
                                    WRITE_BUDGET_LIMIT, whole=True, unit="writes")),
        "http_timeout": int(bounded(value("http-timeout"), "http-timeout", TIMEOUT_SECONDS,
                                    *HTTP_TIMEOUT_LIMITS, whole=True)),
        "rate_limit_wait": bounded(value("rate-limit-wait"), "rate-limit-wait", SECONDARY_RATE_WAIT, 0.0,
                                   RATE_LIMIT_WAIT_LIMIT),
        "longest_wait": bounded(value("longest-wait"), "longest-wait", LONGEST_WAIT, 1.0, LONGEST_WAIT_LIMIT),
        "retry_backoff": bounded(value("retry-backoff"), "retry-backoff", RETRY_BACKOFF, 0.0,
                                 RETRY_BACKOFF_LIMIT),
    }


def check_token(token: str, mode: Mode, factory_repo: str) -> None:
    if not token and mode is Mode.DISPATCH:
        raise FactorySyncError(
            "Input `token` is empty: in mode `dispatch` it sends the repository_dispatch, so give a token "
            f"with Contents: Read and write on {factory_repo} from a secret."
        )
    if not token:
        raise FactorySyncError(
            "Input `token` is empty: leave it out to use the workflow's own token (`${{ github.token }}`), "
            "which needs `issues: read` in the job's `permissions:`."
        )


def api_url(value: str) -> str:
    """The REST API's base URL: https, or plain http to a loopback address only (a local stand-in), as
    the App's key and tokens travel to it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FactorySyncError(
            f"github-api-url must be the REST API's base URL, such as https://api.github.com or "
            f"https://github.example.com/api/v3, not {value!r}; or leave it out."
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise FactorySyncError(
            f"github-api-url must use https (the App's key and tokens are sent to it), not {value!r}; plain "
            "http is accepted only for a loopback address such as http://127.0.0.1:8080."
        )
    return value.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def repo_name(value: str, field: str) -> str:
    if not is_repo_name(value):
        raise FactorySyncError(
            f"{field} must be a repository as owner/name (e.g. ohdsi/Factory), not {value!r}."
        )
    return value


def mode_from(value: str) -> Mode:
    if not value:
        return Mode.SYNC
    if value not in tuple(Mode):
        raise FactorySyncError(
            f"mode must be `sync` (write the tracking issue), `dispatch` (send a repository_dispatch to "
            f"the Factory, which writes it) or `check` (the health check), not {value!r}."
        )
    return Mode(value)


def event_type(value: str) -> str:
    if len(value) > EVENT_TYPE_LIMIT or any(ch.isspace() for ch in value):
        raise FactorySyncError(
            f"dispatch-event-type must be one word of at most {EVENT_TYPE_LIMIT} characters, as in the "
            f"Factory workflow's `repository_dispatch: types: [...]`, not {value!r}."
        )
    return value


def bounded(value: str, field: str, default: float, low: float, high: float, whole: bool = False,
            unit: str = "seconds") -> float:
    """A number of `unit` from `low` to `high` (decimals allowed unless `whole`); `default` when empty."""
    if not value:
        return default
    try:
        number = float(int(value) if whole else value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:  # also refuses nan
        kind = "a whole number" if whole else "a number"
        raise FactorySyncError(f"{field} must be {kind} of {unit} from {low:g} to {high:g} "
                               f"(the default is {default:g}), not {value!r}.")
    return number


def positive_int(value: str, field: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) == 0:
        raise FactorySyncError(f"{field} must be a positive whole number, not {value!r}; or leave it empty.")
    return int(value)


def board_fields(runner: Runner) -> FieldNames:
    """The names of the board's fields (inputs project-stage-field, project-since-field and
    project-stalled-field), each distinct from the others."""
    default = FieldNames()
    names = FieldNames(*(runner.input(name) or getattr(default, role) for role, name in (
        ("stage", "project-stage-field"), ("since", "project-since-field"),
        ("stalled", "project-stalled-field"))))
    given = [names.stage, names.since, names.stalled]
    if len({name.lower() for name in given}) < len(given):
        raise FactorySyncError(f"project-stage-field, project-since-field and project-stalled-field must "
                               f"name three different fields, not {', '.join(map(repr, given))}.")
    return names


def catalog_from(path: str) -> Catalog:
    if not path:
        return DEFAULT_CATALOG
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FactorySyncError(
            f"stages: cannot read {path} ({exc.strerror}); give a path relative to the workspace, and check "
            "out the repository (actions/checkout) before this step."
        ) from exc
    return load_catalog(text, path)
