"""One Factory config, edited once, and the catalog each study is checked against. Plain functions.

The Factory's config file (input `config`, default `.github/factory-sync.yml` in the Factory) holds
the stage catalog and the portfolio settings; a study repository may hold its own catalog at
`.github/factory-stages.yml`. Both are read through GitHub's API (the Factory's config with the
App's token, the study's catalog in the same GraphQL query as its issues), so a study's own run and
the Factory's resync apply the same catalog to a study. What applies, from strongest: the step's
inputs, the study's own catalog, the Factory config, the defaults. A file with a mistake is refused
with its path, the line and the fix: nothing is written.

    stages:
      - label: "stage:base-camp"
        name: "Base Camp"
    stall-days: 21                       # 0 turns stall checks off
    dashboard-label: portfolio-dashboard # false turns the dashboard off
    tracking-label: study-tracking
    project: https://github.com/orgs/ohdsi/projects/1  # the Projects board; leave out for none
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from factory_sync.board import PROJECT_FORMAT, BoardError, ProjectRef, parse_project
from factory_sync.dashboard import DASHBOARD_LABEL
from factory_sync.github_limits import LABEL_NAME_LIMIT
from factory_sync.model import STUDY_CATALOG_PATH, Study, is_stage_label
from factory_sync.stages import (
    CATALOG_FORMAT,
    DEFAULT_CATALOG,
    Catalog,
    CatalogError,
    Stage,
    duplicate,
    parse_stage,
    yaml_problem,
)
from factory_sync.stall import STALL_DAYS
from factory_sync.tracking_block import TRACKING_LABEL

CONFIG_PATH = ".github/factory-sync.yml"  # in the Factory (input config)
STALL_DAYS_LIMIT = 3650
CONFIG_KEYS = ("stages", "stall-days", "dashboard-label", "tracking-label", "project")
DEFAULT_CATALOG_NAME = "the OHDSI catalog (the default)"


class ConfigError(CatalogError):
    """A config or catalog file with a mistake; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class FactoryConfig:
    """What the Factory's config file sets; None: not set there."""

    catalog: Catalog | None = None
    stall_days: int | None = None
    dashboard_label: str | None = None  # "" : the dashboard is turned off
    tracking_label: str | None = None
    project: ProjectRef | None = None


@dataclass(frozen=True)
class Applied:
    """The portfolio settings a run applies, and where each came from."""

    catalog: Catalog
    catalog_from: str
    stall_days: int
    stall_from: str
    dashboard_label: str  # "" when the dashboard is turned off
    dashboard_from: str
    tracking_label: str
    tracking_from: str
    project: ProjectRef | None = None  # the Projects board; None: no board
    project_from: str = "the default"

    def lines(self) -> list[str]:
        """One line per setting: what applies and where from (the health check shows them)."""
        stages = ", ".join(stage.label for stage in self.catalog.stages)
        return [f"stage catalog ({len(self.catalog.stages)} stages: {stages}) from {self.catalog_from}",
                f"stall-days {self.stall_days} from {self.stall_from}",
                f"dashboard-label {self.dashboard_label or '(off)'} from {self.dashboard_from}",
                f"tracking-label {self.tracking_label} from {self.tracking_from}",
                f"project {self.project.url if self.project else '(none)'} from {self.project_from}"]


def parse_config(text: str, path: str) -> FactoryConfig:
    """The Factory config file: a mapping of CONFIG_KEYS, each optional; an empty file sets nothing."""
    node, loader = _compose(text, path)
    if node is None:
        return FactoryConfig()
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{path}, line {_line(node)}: expected a mapping of {', '.join(CONFIG_KEYS)}; "
                          f"write for instance `stall-days: 21` on its own line")
    found: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = loader.construct_object(key)
        if not isinstance(name, str) or name not in CONFIG_KEYS:
            close = difflib.get_close_matches(str(name), CONFIG_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{path}, line {_line(key)}: unknown key {name!r}; {hint}the keys are "
                              f"{', '.join(CONFIG_KEYS)}")
        if name in found:
            raise ConfigError(f"{path}, line {_line(key)}: {name!r} is set twice (also on line "
                              f"{_line(found[name])}); keep one")
        found[name] = value
    config = FactoryConfig()
    if "stages" in found:
        config = FactoryConfig(catalog=_catalog(found["stages"], loader, path))
    return FactoryConfig(
        catalog=config.catalog,
        stall_days=_stall_days(found["stall-days"], loader, path) if "stall-days" in found else None,
        dashboard_label=(_label(found["dashboard-label"], loader, path, "dashboard-label", may_be_off=True)
                         if "dashboard-label" in found else None),
        tracking_label=(_label(found["tracking-label"], loader, path, "tracking-label")
                        if "tracking-label" in found else None),
        project=_project(found["project"], loader, path) if "project" in found else None,
    )


def parse_study_catalog(text: str, path: str) -> Catalog:
    """A study's own catalog file: a mapping whose only key, `stages`, lists {label, name} in order."""
    node, loader = _compose(text, path)
    if node is None:
        raise ConfigError(f"{path}, line 1: the file is empty; write the study's stages as {CATALOG_FORMAT}, "
                          "or delete the file to use the Factory's catalog")
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{path}, line {_line(node)}: expected a mapping like {CATALOG_FORMAT}")
    stages = None
    for key, value in node.value:
        name = loader.construct_object(key)
        if name != "stages":
            raise ConfigError(f"{path}, line {_line(key)}: unknown key {name!r}; the only key of a study's "
                              "catalog is 'stages' (the other settings belong in the Factory's config)")
        stages = value
    if stages is None:
        raise ConfigError(f"{path}, line {_line(node)}: no 'stages'; write them as {CATALOG_FORMAT}")
    return _catalog(stages, loader, path)


def resolve(config: FactoryConfig | None, config_source: str, *, stall_days: int | None = None,
            dashboard_label: str | None = None, tracking_label: str | None = None,
            project: ProjectRef | None = None) -> Applied:
    """What applies: the inputs given (None: not given), else the Factory config's, else the default."""
    config = config or FactoryConfig()

    def pick(given: object, configured: object, default: object) -> tuple[object, str]:
        if given is not None:
            return given, "the step's input"
        if configured is not None:
            return configured, config_source
        return default, "the default"

    catalog, catalog_from = ((config.catalog, config_source) if config.catalog is not None
                             else (DEFAULT_CATALOG, DEFAULT_CATALOG_NAME))
    stall, stall_from = pick(stall_days, config.stall_days, STALL_DAYS)
    dashboard, dashboard_from = pick(dashboard_label, config.dashboard_label, DASHBOARD_LABEL)
    tracking, tracking_from = pick(tracking_label, config.tracking_label, TRACKING_LABEL)
    board, board_from = pick(project, config.project, None)
    return Applied(catalog, catalog_from, int(stall), stall_from, str(dashboard), dashboard_from,  # type: ignore[call-overload]
                   str(tracking), tracking_from, board, board_from)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Catalogs:
    """The catalog each study is checked against: its own file's, else the Factory's (or the default).

    `stages_input` is the old `stages` input: kept so that workflows that pass it still run, but only
    when it is the catalog that applies anyway, because the other side (the Factory's resync, or the
    study's own run) cannot see it and would rewrite the tracking issue with another catalog."""

    applied: Applied
    stages_input: Catalog | None = None
    stages_path: str = ""

    def of(self, study: Study) -> tuple[Catalog, str]:
        if study.catalog is not None:
            source = f"{study.repo}'s {STUDY_CATALOG_PATH}"
            catalog = parse_study_catalog(study.catalog, source)
        else:
            catalog, source = self.applied.catalog, self.applied.catalog_from
        if self.stages_input is not None and self.stages_input != catalog:
            raise ConfigError(
                f"stages: {self.stages_path} differs from {source}, the catalog that both this study's runs "
                "and the Factory's resync apply to it, so they would rewrite its tracking issue in turn. Put "
                f"the study's stages in {STUDY_CATALOG_PATH} in the study repository (or the Factory's "
                f"catalog in its {CONFIG_PATH}) and remove the `stages` input")
        return catalog, source


def _compose(text: str, path: str) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError as error:
        line, problem = yaml_problem(error)
        fix = "indent list items under their key and quote values that hold ': ' or '#'"
        raise ConfigError(f"{path}, line {line or 1}: not valid YAML ({problem}); fix the syntax, e.g. "
                          f"{fix}") from error


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _catalog(node: yaml.Node, loader: yaml.SafeLoader, path: str) -> Catalog:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ConfigError(f"{path}, line {_line(node)}: 'stages' must be a non-empty list, "
                          f"e.g. {CATALOG_FORMAT}")
    stages: list[Stage] = []
    for number, item in enumerate(node.value, start=1):
        try:
            entry = loader.construct_object(item, deep=True)
            stages.append(parse_stage(entry, number, f"{path}, line {_line(item)}"))
        except CatalogError as exc:
            raise ConfigError(str(exc)) from exc
    found = duplicate(stages)
    if found:
        first, number, what, value = found
        line, earlier = _line(node.value[number - 1]), _line(node.value[first - 1])
        raise ConfigError(f"{path}, line {line}: stage {number} has the {what} {value!r} of stage {first} "
                          f"(line {earlier}), case aside; keep one")
    return Catalog(tuple(stages))


def _stall_days(node: yaml.Node, loader: yaml.SafeLoader, path: str) -> int:
    value = loader.construct_object(node)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= STALL_DAYS_LIMIT:
        raise ConfigError(f"{path}, line {_line(node)}: stall-days must be a whole number of days from 0 to "
                          f"{STALL_DAYS_LIMIT} (0 turns stall checks off), not {value!r}; "
                          "e.g. stall-days: 21")
    return value


def _label(node: yaml.Node, loader: yaml.SafeLoader, path: str, key: str, may_be_off: bool = False) -> str:
    value = loader.construct_object(node)
    if may_be_off and (value is False or value == ""):
        return ""
    problem = label_problem(value)
    if problem:
        off = " (or false to turn the dashboard off)" if may_be_off else ""
        raise ConfigError(f"{path}, line {_line(node)}: {key} {problem}{off}")
    return str(value)


def _project(node: yaml.Node, loader: yaml.SafeLoader, path: str) -> ProjectRef | None:
    value = loader.construct_object(node)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}, line {_line(node)}: project must be {PROJECT_FORMAT}, not {value!r}")
    try:
        return parse_project(value)
    except BoardError as exc:
        raise ConfigError(f"{path}, line {_line(node)}: {exc}") from exc


def label_problem(value: object) -> str:
    """Why a value cannot be the name of the label factory-sync looks issues up by ("" when it can)."""
    if not isinstance(value, str) or not value.strip():
        return f"must be a label's name, not {value!r}"
    if len(value) > LABEL_NAME_LIMIT:
        return f"is {len(value)} characters; GitHub allows at most {LABEL_NAME_LIMIT}, shorten it"
    if "," in value:
        return f"{value!r} holds a comma, which GitHub's issue list reads as two labels; remove it"
    if is_stage_label(value):
        return f"{value!r} starts with 'stage:', which marks stage labels; choose another name"
    return ""


@dataclass(frozen=True)
class PortfolioInputs:
    """The step's inputs that set what the Factory config may also set (None: not given)."""

    config_path: str = CONFIG_PATH  # input config
    stall_days: int | None = None
    dashboard_label: str | None = None  # "": turned off (the input `false`)
    tracking_label: str | None = None
    export_dir: str = ""  # "": no export
    stages: Catalog | None = None  # the old `stages` input's catalog; checked, never applied alone
    stages_path: str = ""


def portfolio_inputs(value: Callable[[str], str], stages: Catalog | None = None,
                     stages_path: str = "") -> PortfolioInputs:
    """Read and check the inputs config, stall-days, dashboard-label, tracking-label and export-dir."""
    config = value("config") or CONFIG_PATH
    if config.startswith("/") or ".." in config.split("/") or "\\" in config or len(config) > 255:
        raise ConfigError(f"config must be a path inside the Factory repository, such as {CONFIG_PATH}, "
                          f"not {config!r}")
    stall = value("stall-days")
    if stall and not (stall.isascii() and stall.isdigit() and int(stall) <= STALL_DAYS_LIMIT):
        raise ConfigError(f"stall-days must be a whole number of days from 0 to {STALL_DAYS_LIMIT} (0 turns "
                          f"stall checks off), not {stall!r}; or leave it out to use the Factory config's")
    dashboard = value("dashboard-label")
    if dashboard and dashboard != "false" and (problem := label_problem(dashboard)):
        raise ConfigError(f"dashboard-label {problem}; or `false` to turn the dashboard off")
    tracking = value("tracking-label")
    if tracking and (problem := label_problem(tracking)):
        raise ConfigError(f"tracking-label {problem}")
    export = value("export-dir")
    if "\0" in export:
        raise ConfigError("export-dir must be a folder's path, relative to the workspace, such as export")
    return PortfolioInputs(config, int(stall) if stall else None,
                           ("" if dashboard == "false" else dashboard) if dashboard else None,
                           tracking or None, export, stages, stages_path)


def applied_settings(config_text: str | None, factory_repo: str, given: PortfolioInputs,
                     project: ProjectRef | None = None) -> Applied:
    """What applies, once the Factory's config file was read (None: it has none); `project` is the
    input's."""
    source = f"{given.config_path} in {factory_repo}"
    config = parse_config(config_text, source) if config_text is not None else None
    return resolve(config, source, stall_days=given.stall_days, dashboard_label=given.dashboard_label,
                   tracking_label=given.tracking_label, project=project)
