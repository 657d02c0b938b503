"""One Factory config: each kind of mistake named with its file, line and fix; what applies, and from
where; the catalog each study is checked against, and the `stages` input refused when it would make
a study's run and the Factory's resync disagree."""

import pytest

from factory_sync.dashboard import DASHBOARD_LABEL
from factory_sync.factory_config import (
    CONFIG_PATH,
    Catalogs,
    ConfigError,
    FactoryConfig,
    parse_config,
    parse_study_catalog,
    resolve,
)
from factory_sync.model import Study
from factory_sync.stages import DEFAULT_CATALOG, Catalog, Stage

GOOD = """\
# The Factory's settings
stages:
  - label: "stage:start"
    name: "Start"
  - label: "stage:end"
    name: "End"
stall-days: 30
dashboard-label: portfolio
tracking-label: tracked
"""
TWO = Catalog((Stage("stage:start", "Start"), Stage("stage:end", "End")))


def test_a_good_config_sets_everything():
    config = parse_config(GOOD, CONFIG_PATH)
    assert config == FactoryConfig(TWO, 30, "portfolio", "tracked")


def test_an_empty_config_sets_nothing_and_false_turns_the_dashboard_off():
    assert parse_config("", CONFIG_PATH) == FactoryConfig()
    assert parse_config("# nothing yet\n", CONFIG_PATH) == FactoryConfig()
    assert parse_config("dashboard-label: false\n", CONFIG_PATH).dashboard_label == ""


MISTAKES = [
    ("stages:\n  - label: stage:a\n   name: A\n", 3, "not valid YAML"),
    ("- stall-days: 21\n", 1, "expected a mapping"),
    ("stall_days: 21\n", 1, "unknown key 'stall_days'; did you mean 'stall-days'?"),
    ("stall-days: 21\nstall-days: 30\n", 2, "'stall-days' is set twice (also on line 1)"),
    ("stall-days: soon\n", 1, "stall-days must be a whole number of days from 0 to 3650"),
    ("stall-days: -1\n", 1, "stall-days must be a whole number"),
    ("stall-days: true\n", 1, "stall-days must be a whole number"),
    ("\n\nstall-days: 2.5\n", 3, "stall-days must be a whole number"),
    ("dashboard-label: ['a']\n", 1, "dashboard-label must be a label's name"),
    ("dashboard-label: a,b\n", 1, "holds a comma"),
    ("tracking-label: stage:tracked\n", 1, "starts with 'stage:'"),
    (f"tracking-label: {'x' * 51}\n", 1, "is 51 characters; GitHub allows at most 50"),
    ("tracking-label: ''\n", 1, "tracking-label must be a label's name"),
    ("stages: []\n", 1, "'stages' must be a non-empty list"),
    ("stages:\n  - label: stage:a\n    name: A\n  - name: B\n", 4, "stage 2 has no label"),
    ("stages:\n  - label: a\n    name: A\n", 2, "label 'a' must start with 'stage:'"),
    ("stages:\n  - label: stage:a\n    colour: red\n", 2, "unknown key 'colour'"),
    ("stages:\n  - label: stage:a\n    name: A\n  - label: Stage:A\n    name: B\n", 4,
     "stage 2 has the label 'Stage:A' of stage 1 (line 2), case aside; keep one"),
    ("stages:\n  - label: stage:a\n    name: A\n  - label: stage:b\n    name: a\n", 4,
     "the name 'a' of stage 1"),
    ("stages:\n  - stage:a\n", 2, "must be a mapping with 'label' and 'name'"),
]


@pytest.mark.parametrize(("text", "line", "what"), MISTAKES)
def test_each_kind_of_mistake_names_the_file_the_line_and_the_fix(text, line, what):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, CONFIG_PATH)
    message = str(caught.value)
    assert message.startswith(f"{CONFIG_PATH}, line {line}: "), message
    assert what in message
    assert "\n" not in message


def test_a_study_catalog_holds_only_stages():
    path = "o/s's .github/factory-stages.yml"
    assert parse_study_catalog("stages:\n  - label: stage:start\n    name: Start\n  - label: stage:end\n"
                               "    name: End\n", path) == TWO
    for text, line, what in [("", 1, "the file is empty"), ("stall-days: 3\n", 1, "the only key"),
                             ("{}\n", 1, "no 'stages'"), ("stages: x\n", 1, "non-empty list")]:
        with pytest.raises(ConfigError, match=what) as caught:
            parse_study_catalog(text, path)
        assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_inputs_then_the_config_then_the_defaults():
    config = parse_config(GOOD, CONFIG_PATH)
    source = f"{CONFIG_PATH} in ohdsi/Factory"
    applied = resolve(config, source)
    assert (applied.catalog, applied.stall_days, applied.dashboard_label, applied.tracking_label) == \
        (TWO, 30, "portfolio", "tracked")
    sources = {applied.catalog_from, applied.stall_from, applied.dashboard_from, applied.tracking_from}
    assert sources == {source}
    given = resolve(config, source, stall_days=0, dashboard_label="", tracking_label="t")
    assert (given.stall_days, given.dashboard_label, given.tracking_label, given.stall_from) == \
        (0, "", "t", "the step's input")
    default = resolve(None, source)
    assert (default.catalog, default.stall_days, default.dashboard_label, default.tracking_label) == \
        (DEFAULT_CATALOG, 21, DASHBOARD_LABEL, "study-tracking")
    assert default.stall_from == "the default" and "OHDSI" in default.catalog_from
    assert "stall-days 30 from .github/factory-sync.yml in ohdsi/Factory" in applied.lines()


def test_a_study_with_its_own_catalog_gets_it_and_the_others_the_factorys():
    own = Study("o/own", "https://github.com/o/own", (), catalog="stages:\n  - label: stage:x\n    name: X\n")
    plain = Study("o/plain", "https://github.com/o/plain", ())
    catalogs = Catalogs(resolve(FactoryConfig(TWO), "the config"))
    assert catalogs.of(own) == (Catalog((Stage("stage:x", "X"),)), "o/own's .github/factory-stages.yml")
    assert catalogs.of(plain) == (TWO, "the config")
    broken = Study("o/b", "https://github.com/o/b", (), catalog="stages:\n  - label: x\n")
    with pytest.raises(ConfigError, match=r"^o/b's \.github/factory-stages\.yml, line 2: stage 1"):
        catalogs.of(broken)


def test_the_stages_input_is_refused_when_it_would_make_the_runs_disagree():
    plain = Study("o/plain", "https://github.com/o/plain", ())
    same = Catalogs(resolve(None, "the config"), DEFAULT_CATALOG, "stages.yml")
    assert same.of(plain)[0] == DEFAULT_CATALOG  # the catalog that applies anyway: accepted
    other = Catalogs(resolve(None, "the config"), TWO, "stages.yml")
    with pytest.raises(ConfigError) as caught:
        other.of(plain)
    assert str(caught.value).startswith("stages: stages.yml differs from the OHDSI catalog (the default)")
    assert "remove the `stages` input" in str(caught.value)
