"""The action's inputs, checked once, with a message for each mistake that says how to fix it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from factory_sync.errors import FactorySyncError
from factory_sync.github_api import check_private_key, parse_app_id
from factory_sync.runner import Runner
from factory_sync.stage import DEFAULT_CATALOG, Catalog, load_catalog

REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Settings:
    app_id: int | str
    private_key: str
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


def read_settings(runner: Runner) -> Settings:
    # Secrets are masked before anything else can print them.
    private_key = runner.input("private-key", required=True)
    token = runner.input("token")
    runner.mask(private_key)
    runner.mask(token)
    settings = Settings(
        app_id=parse_app_id(runner.input("app-id", required=True)),
        private_key=private_key,
        factory_repo=repo_name(runner.input("factory-repo", required=True), "factory-repo"),
        installation_id=positive_int(runner.input("installation-id"), "installation-id"),
        factory_issue=positive_int(runner.input("factory-issue"), "factory-issue"),
        token=token,
        catalog=catalog_from(runner.input("stages")),
        api_url=(runner.input("github-api-url") or runner.api_url).rstrip("/"),
        create_missing=runner.bool_input("create-missing", default=True),
        dry_run=runner.bool_input("dry-run", default=False),
        tracking_label=runner.input("tracking-label") or "study-tracking",
        run_url=runner.run_url,
    )
    check_private_key(private_key)
    if not token:
        raise FactorySyncError(
            "Input `token` is empty: leave it out to use the workflow's own token (`${{ github.token }}`), "
            "which needs `issues: read` in the job's `permissions:`."
        )
    return settings


def repo_name(value: str, field: str) -> str:
    if not REPO_NAME.match(value):
        raise FactorySyncError(
            f"{field} must be a repository as owner/name (e.g. ohdsi/Factory), not {value!r}."
        )
    return value


def positive_int(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) == 0:
        raise FactorySyncError(f"{field} must be a positive whole number, not {value!r}; or leave it empty.")
    return int(value)


def catalog_from(path: str) -> Catalog:
    if not path:
        return DEFAULT_CATALOG
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FactorySyncError(
            f"stages: cannot read {path} ({exc.strerror}); give a path relative to the workspace, and check "
            "out the repository (actions/checkout) before this step."
        ) from None
    return load_catalog(text, path)
