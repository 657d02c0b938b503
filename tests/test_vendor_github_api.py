"""The vendoring script keeps exactly what the chosen operations need, without examples."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "vendor_github_api.py"
_spec = importlib.util.spec_from_file_location("vendor_github_api", SCRIPT)
vendor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SOURCE = {
    "openapi": "3.0.3",
    "info": {"title": "GitHub", "version": "1.0.0"},
    "servers": [{"url": "https://api.github.com"}],
    "tags": [{"name": "issues"}, {"name": "orgs"}],
    "paths": {
        "/issues/{n}": {
            "parameters": [{"$ref": "#/components/parameters/n"}],
            "get": {"tags": ["issues"], "responses": {
                "200": {"description": "ok", "content": {"application/json": {
                    "schema": ref("issue"),
                    "examples": {"default": {"$ref": "#/components/examples/issue"}}}}},
                "404": {"$ref": "#/components/responses/not_found"}}},
            "delete": {"tags": ["issues"], "responses": {"204": {"description": "gone"}}},
        },
        "/orgs": {"get": {"tags": ["orgs"], "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": ref("org")}}}}}},
    },
    "components": {
        "parameters": {"n": {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}},
        "responses": {"not_found": {"description": "missing", "content": {"application/json": {
            "schema": ref("error")}}}},
        "examples": {"issue": {"value": {"number": 1}}},
        "schemas": {
            "issue": {"type": "object", "example": {"number": 1}, "properties": {
                "number": {"type": "integer", "example": 1},
                "example": {"type": "string"},  # a property that happens to be called "example"
                "state_reason": {"type": "string", "nullable": True, "enum": ["completed"]},
                "user": ref("user")}},
            "user": {"type": "object", "properties": {"login": {"type": "string"}}},
            "error": {"type": "object", "properties": {"message": {"type": "string"}}},
            "org": {"type": "object"},
        },
    },
}


def test_the_subset_keeps_the_operations_and_what_they_reference():
    subset = vendor.rest_subset(SOURCE, {"/issues/{n}": ("get",)})
    validate(subset)
    assert list(subset["paths"]) == ["/issues/{n}"]
    assert set(subset["paths"]["/issues/{n}"]) == {"parameters", "get"}
    assert subset["tags"] == [{"name": "issues"}]
    assert {section: sorted(names) for section, names in subset["components"].items()} == {
        "parameters": ["n"], "responses": ["not_found"], "schemas": ["error", "issue", "user"]}


def test_the_subset_drops_examples_but_not_properties_named_example():
    subset = vendor.rest_subset(SOURCE, {"/issues/{n}": ("get",)})
    issue = subset["components"]["schemas"]["issue"]
    assert "example" not in issue and "example" not in issue["properties"]["number"]
    assert issue["properties"]["example"] == {"type": "string"}
    media = subset["paths"]["/issues/{n}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "examples" not in media
    assert "examples" not in json.dumps(subset["components"])


def test_nullable_enums_admit_the_null_github_sends():
    subset = vendor.rest_subset(SOURCE, {"/issues/{n}": ("get",)})
    state_reason = subset["components"]["schemas"]["issue"]["properties"]["state_reason"]
    assert state_reason["enum"] == ["completed", None]


def test_the_output_is_canonical():
    assert vendor.canonical_json({"b": 1, "a": [None]}) == b'{\n  "a": [\n    null\n  ],\n  "b": 1\n}\n'


def test_check_names_the_files_that_differ(tmp_path):
    (tmp_path / "same.txt").write_bytes(b"x")
    (tmp_path / "changed.txt").write_bytes(b"old")
    outputs = {"same.txt": b"x", "changed.txt": b"new", "missing.txt": b"y"}
    assert vendor.stale(outputs, tmp_path) == ["changed.txt", "missing.txt"]


def test_other_events_are_vendored_one_example_per_line():
    entry = {"name": "star", "actions": ["created"], "examples": [{"b": "é", "a": [1, 2]}, {"action": "x"}]}
    text = vendor.compact_examples(entry).decode()
    assert json.loads(text) == entry
    assert text.splitlines() == ['{"actions":["created"],"examples":[', '{"a":[1,2],"b":"é"},',
                                 '{"action":"x"}', '],"name":"star"}']


def test_strays_are_webhook_files_the_source_no_longer_produces(tmp_path):
    folder = tmp_path / vendor.WEBHOOKS_TARGET
    folder.mkdir(parents=True)
    for name in ("star.json", "gone.json"):
        (folder / name).write_text("{}")
    assert vendor.strays({f"{vendor.WEBHOOKS_TARGET}/star.json": b"{}"}, tmp_path) == [
        f"{vendor.WEBHOOKS_TARGET}/gone.json"]


@pytest.mark.parametrize("lay_out", ["nothing", "no webhooks", "broken json"])
def test_a_missing_source_is_one_line_saying_how_to_point_elsewhere(tmp_path, lay_out):
    source = tmp_path / "github-api"
    if lay_out != "nothing":
        for name in (vendor.GRAPHQL_SOURCE, vendor.REST_SOURCE, vendor.WEBHOOKS_SOURCE):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text("{" if name == vendor.REST_SOURCE else "[]")
        if lay_out == "no webhooks":
            (source / vendor.WEBHOOKS_SOURCE).unlink()
    done = subprocess.run([sys.executable, str(SCRIPT), "--check", "--source", str(source)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "Traceback" not in line and "Point --source DIR at a copy" in line
    expected = {"nothing": f"no directory {source}", "no webhooks": f"has no {vendor.WEBHOOKS_SOURCE}",
                "broken json": "is not a readable copy of GitHub's API descriptions"}[lay_out]
    assert expected in line
