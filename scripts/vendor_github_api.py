"""Vendor the slice of GitHub's published API descriptions that the tests and the double need.

Reads a copy of the upstream packages (default: ../shared/github-api next to the repository)
and writes, deterministically:

- sandbox/github_double/github-schema.graphql: GitHub's GraphQL schema, byte for byte;
- tests/contract/github-rest-subset.json: the REST operations the client calls and the double
  serves, with every component they reference and without examples;
- tests/fixtures/webhooks/<event>.json: GitHub's example payloads of every webhook event, the
  events the action handles indented for reading, the others one example per line;
- tests/contract/SOURCE.md: where all of it came from.

Usage: python scripts/vendor_github_api.py [--source DIR] [--check]
With --check nothing is written: exits 1 naming each vendored file that differs from what the
source would produce, 0 when all match. A source that is missing or unreadable exits 2 with one
line saying what is missing and how to point the script elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "github-api"

GRAPHQL_SOURCE = "graphql/schema.graphql"
REST_SOURCE = "rest/api.github.com.json"
WEBHOOKS_SOURCE = "webhooks/examples.json"

GRAPHQL_TARGET = "sandbox/github_double/github-schema.graphql"
REST_TARGET = "tests/contract/github-rest-subset.json"
WEBHOOKS_TARGET = "tests/fixtures/webhooks"
SOURCE_NOTE_TARGET = "tests/contract/SOURCE.md"

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/app": ("get",),
    "/app/installations/{installation_id}/access_tokens": ("post",),
    "/installation/repositories": ("get",),
    "/installation/token": ("delete",),
    "/orgs/{org}/installation": ("get",),
    "/rate_limit": ("get",),
    "/repos/{owner}/{repo}": ("get",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches": ("post",),
    "/repos/{owner}/{repo}/contents/{path}": ("get", "put"),
    "/repos/{owner}/{repo}/dispatches": ("post",),
    "/repos/{owner}/{repo}/installation": ("get",),
    "/repos/{owner}/{repo}/issues": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/issues/{issue_number}/events": ("get",),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": ("get", "post", "put"),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": ("delete",),
    "/repos/{owner}/{repo}/issues/{issue_number}/timeline": ("get",),
    "/repos/{owner}/{repo}/labels": ("get", "post"),
    "/repos/{owner}/{repo}/labels/{name}": ("get",),
}

# The events the action handles: vendored indented, for reading. Every other event is vendored too,
# compactly, so that the tests can feed the action every payload GitHub documents.
WEBHOOK_EVENTS = ("issues", "repository_dispatch", "workflow_dispatch")

# Keys whose value maps names (of properties, status codes, media types, ...) to objects: a
# property called "example" must survive while the `example` keyword is dropped.
NAME_MAPS = {"properties", "patternProperties", "responses", "content", "headers", "schemas",
             "parameters", "links", "callbacks", "encoding", "securitySchemes"}
EXAMPLE_KEYWORDS = {"example", "examples"}


def without_examples(node: object, *, names: bool = False) -> object:
    """A copy of an OpenAPI fragment with every `example`/`examples` keyword removed."""
    if isinstance(node, list):
        return [without_examples(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: without_examples(value) for key, value in node.items()}
    return {key: without_examples(value, names=key in NAME_MAPS and isinstance(value, dict))
            for key, value in node.items() if key not in EXAMPLE_KEYWORDS}


def null_in_nullable_enums(node: object) -> object:
    """A copy where every `nullable` schema with an `enum` also lists null.

    OpenAPI 3.0.3 lets `enum` veto the null that `nullable` allows, and GitHub's description
    leaves null out of such enums (issue `state_reason`, for one) although the API sends it:
    without this the description would reject GitHub's own answers.
    """
    if isinstance(node, list):
        return [null_in_nullable_enums(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: null_in_nullable_enums(value) for key, value in node.items()}
    if copy.get("nullable") is True and isinstance(copy.get("enum"), list) and None not in copy["enum"]:
        copy["enum"] = [*copy["enum"], None]
    return copy


def references(node: object) -> set[str]:
    """Every local `$ref` target inside a fragment."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def resolve_pointer(document: dict, ref: str) -> object:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: object = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]  # type: ignore[index]
    return node


def rest_subset(spec: dict, operations: dict[str, tuple[str, ...]]) -> dict:
    """The chosen operations of an OpenAPI document plus the components they need, transitively."""
    paths: dict[str, dict] = {}
    for path, methods in sorted(operations.items()):
        item = spec["paths"][path]
        missing = [m for m in methods if m not in item]
        if missing:
            raise KeyError(f"{path} has no {', '.join(missing)} operation in the source")
        kept = {key: value for key, value in item.items()
                if key in methods or key in ("parameters", "summary", "description")}
        paths[path] = without_examples(kept)

    components: dict[str, dict] = {}
    pending = sorted(references(paths))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if not ref.startswith("#/components/"):
            raise ValueError(f"unexpected reference outside components: {ref}")
        section, name = ref[len("#/components/"):].split("/", 1)
        target = without_examples(resolve_pointer(spec, ref))
        components.setdefault(section, {})[name] = target
        pending.extend(sorted(references(target) - seen))

    used_tags = {tag for item in paths.values() for op in item.values() if isinstance(op, dict)
                 for tag in op.get("tags", [])}
    subset = {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec["servers"],
        "tags": [tag for tag in spec.get("tags", []) if tag["name"] in used_tags],
        "paths": paths,
        "components": components,
    }
    if "externalDocs" in spec:
        subset["externalDocs"] = spec["externalDocs"]
    return null_in_nullable_enums(subset)


def canonical_json(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def compact_examples(entry: dict) -> bytes:
    """An event's name, actions and examples as JSON with one example per line: small, and a change
    upstream still shows as a change to the examples it touches."""
    def compact(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    examples = ",\n".join(compact(example) for example in entry["examples"])
    head = f'{{"actions":{compact(entry["actions"])},"examples":['
    return f'{head}\n{examples}\n],"name":{compact(entry["name"])}}}\n'.encode()


def package_versions(readme: str) -> list[tuple[str, str, str]]:
    """(vendored file, npm package, version) rows from the source README's table."""
    rows = []
    for line in readme.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|.*\|\s*`(@[^`]+)`\s+([0-9][^,\s]*)", line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3)))
    return rows


def source_note(source: Path, spec: dict, event_count: int) -> bytes:
    rows = package_versions((source / "README.md").read_text(encoding="utf-8"))
    lines = [
        "# Vendored GitHub API descriptions",
        "",
        "Generated by `scripts/vendor_github_api.py`; do not edit by hand. Regenerate from a copy of",
        "the npm packages below with `python scripts/vendor_github_api.py --source DIR`, and confirm",
        "the vendored files are current with `--check`.",
        "",
        "| source file | npm package | version | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    for file, package, version in rows:
        digest = hashlib.sha256((source / file).read_bytes()).hexdigest()
        lines.append(f"| `{file}` | `{package}` | {version} | `{digest}` |")
    operation_count = sum(len(methods) for methods in OPERATIONS.values())
    lines += [
        "",
        f"OpenAPI description: `info.version` {spec['info']['version']}, OpenAPI {spec['openapi']}.",
        f"`github-rest-subset.json` keeps {operation_count} operations on {len(OPERATIONS)} paths and the "
        "components they reference,",
        "with two changes: examples are dropped, and every `nullable` schema with an `enum` also lists",
        "null (OpenAPI 3.0.3 lets the enum forbid the null GitHub sends, e.g. an open issue's",
        "`state_reason`).",
        f"Webhook payloads: the examples of all {event_count} events in `webhooks/examples.json`, one file "
        "per event;",
        f"{', '.join(f'`{event}`' for event in WEBHOOK_EVENTS)} indented, the others one example per line.",
        "",
    ]
    return "\n".join(lines).encode()


def build(source: Path) -> dict[str, bytes]:
    """Every vendored file, by path relative to the repository root."""
    spec = json.loads((source / REST_SOURCE).read_bytes())
    outputs = {
        GRAPHQL_TARGET: (source / GRAPHQL_SOURCE).read_bytes(),
        REST_TARGET: canonical_json(rest_subset(spec, OPERATIONS)),
    }
    events = {entry["name"]: entry for entry in json.loads((source / WEBHOOKS_SOURCE).read_bytes())}
    missing = [event for event in WEBHOOK_EVENTS if event not in events]
    if missing:
        raise KeyError(f"{WEBHOOKS_SOURCE} has no examples of {', '.join(missing)}")
    outputs[SOURCE_NOTE_TARGET] = source_note(source, spec, len(events))
    for event, entry in sorted(events.items()):
        kept = {"name": entry["name"], "actions": entry["actions"], "examples": entry["examples"]}
        target = f"{WEBHOOKS_TARGET}/{event}.json"
        outputs[target] = canonical_json(kept) if event in WEBHOOK_EVENTS else compact_examples(kept)
    return outputs


def missing_sources(source: Path) -> str:
    """What the source directory lacks, in words; "" when every file the vendoring reads is there."""
    if not source.is_dir():
        return f"no directory {source}"
    needed = (GRAPHQL_SOURCE, REST_SOURCE, WEBHOOKS_SOURCE)
    absent = [name for name in needed if not (source / name).is_file()]
    return f"{source} has no {', '.join(absent)}" if absent else ""


def stale(outputs: dict[str, bytes], root: Path) -> list[str]:
    return [name for name, content in sorted(outputs.items())
            if not (root / name).is_file() or (root / name).read_bytes() != content]


def strays(outputs: dict[str, bytes], root: Path) -> list[str]:
    """Vendored webhook files the source no longer produces (an event GitHub dropped)."""
    found = [path.relative_to(root).as_posix() for path in (root / WEBHOOKS_TARGET).glob("*.json")]
    return sorted(name for name in found if name not in outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="directory holding graphql/, rest/, webhooks/ and README.md")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any vendored file differs")
    args = parser.parse_args(argv)
    lacking = missing_sources(args.source)
    try:
        outputs = {} if lacking else build(args.source)
    except (OSError, ValueError, KeyError) as exc:
        lacking = f"{args.source} is not a readable copy of GitHub's API descriptions ({exc})"
    if lacking:
        print(f"vendor_github_api: {lacking}. Point --source DIR at a copy of the npm packages named in "
              f"{SOURCE_NOTE_TARGET} (DIR/{GRAPHQL_SOURCE}, DIR/{REST_SOURCE}, DIR/{WEBHOOKS_SOURCE}).",
              file=sys.stderr)
        return 2
    if args.check:
        differing, extra = stale(outputs, ROOT), strays(outputs, ROOT)
        for name in differing:
            print(f"out of date: {name}", file=sys.stderr)
        for name in extra:
            print(f"not in the source any more: {name}", file=sys.stderr)
        return 1 if differing or extra else 0
    for name in strays(outputs, ROOT):
        (ROOT / name).unlink()
        print(f"removed {name}")
    for name, content in outputs.items():
        target = ROOT / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        print(f"wrote {name} ({len(content):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
