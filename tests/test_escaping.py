"""Escaping, finished: what a study's title or the Factory's text could turn into a link, a reference,
a mention or HTML is inert wherever it is shown (the Factory, job summaries, dry-run diffs, the log),
and github-api-url never sends the App's credentials over plain http to another host."""

from __future__ import annotations

import io

import pytest

from factory_sync.errors import FactorySyncError
from factory_sync.inputs import api_url
from factory_sync.markdown import escape, fenced
from factory_sync.portfolio import Status, StudyResult
from factory_sync.runner import Runner
from factory_sync.summaries import diff_summary, study_summary

ZWSP = "&#8203;"


@pytest.mark.parametrize(("title", "inert"), [
    ("see https://evil.example/x", f"see https:{ZWSP}//evil.example/x"),
    ("see http://evil.example", f"see http:{ZWSP}//evil.example"),
    ("visit www.evil.example", f"visit www{ZWSP}.evil.example"),
    ("fixes GH-123", f"fixes GH{ZWSP}-123"),
    ("fixes gh-7", f"fixes gh{ZWSP}-7"),
    ("see OHDSI/Other#12", f"see OHDSI/Other#{ZWSP}12"),
    ("see #12", f"see #{ZWSP}12"),
    ("ping @team", f"ping @{ZWSP}team"),
])
def test_links_references_and_mentions_a_title_could_make_are_neutralised(title, inert):
    assert escape(title) == inert


def test_plain_words_stay_as_they_are():
    assert escape("GHz ratio 3:1 www-site") == "GHz ratio 3:1 www-site"


def test_a_study_runs_summary_escapes_what_the_factory_showed():
    result = StudyResult("OHDSI/Study", Status.UPDATED, "<img src=x onerror=alert(1)> @team", "Base Camp",
                         changes=("stage: <b>x</b> -> Base Camp",))
    summary = study_summary(result, dry_run=False)
    assert "<img" not in summary and "<b>" not in summary
    assert "&lt;img src=x onerror=alert\\(1\\)&gt; @&#8203;team" in summary


def test_a_dry_run_diff_cannot_be_closed_by_the_text_it_shows():
    diff = "+ ```\n+ ``````\n+ <!-- -->"
    summary = diff_summary(diff)
    fence = "`" * 7
    assert summary.startswith(f"#### Planned change (dry run)\n\n{fence}diff\n")
    assert summary.rstrip().endswith(fence)
    assert fenced("no backticks") == "```\nno backticks\n```"


@pytest.mark.parametrize("ignored", ["\u0640", "\u07fa", "\u180a", "\u1cd3", "\ufe73"])
def test_code_points_that_collation_ignores_do_not_hide_a_command(ignored):
    out = io.StringIO()
    Runner({}, out).info(f"{ignored}::error::injected")
    assert not out.getvalue().startswith("::")
    assert "%3A%3Aerror%3A%3Ainjected" in out.getvalue()


@pytest.mark.parametrize("url", ["https://api.github.com", "https://github.example.com/api/v3",
                                 "http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80"])
def test_github_api_url_takes_https_or_loopback(url):
    assert api_url(url) == url


@pytest.mark.parametrize("url", ["http://api.github.com", "http://10.0.0.5/api/v3", "http://github.example.com"])
def test_github_api_url_refuses_plain_http_elsewhere(url):
    with pytest.raises(FactorySyncError, match="must use https"):
        api_url(url)
