"""A workflow job's `if:`, evaluated as GitHub evaluates expressions, so that a benchmark can tell
which events start the job without a runner.

It reads GitHub's expression syntax as far as a job's condition needs it: literals, `github.*`
property paths with the `.*` filter and `[ ]`, `!`, `==`, `!=`, `&&`, `||` (which give one of their
operands, as GitHub's do), and the functions contains, startsWith, endsWith, fromJSON, join, format
and success. As GitHub does: strings compare ignoring case, values of different kinds compare as
numbers, a missing property is null. tests/test_act_job_filter.py checks its verdicts against a real
runner's (nektos/act) on every event it tries.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import yaml

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|(&&|\|\||==|!=|[!().,\[\]*])|([A-Za-z_][\w-]*))")
STRING, NUMBER, OPERATOR, NAME = 1, 2, 3, 4  # the kinds of token, by _TOKEN's group


class _Filtered(list):
    """What a `.*` filter gives: a property of it is that property of each of its items."""


def _kind(value: object) -> str:
    return ("null" if value is None else "boolean" if isinstance(value, bool) else
            "number" if isinstance(value, int | float) else "string" if isinstance(value, str) else "object")


def _number(value: object) -> float:
    if _kind(value) in ("null", "boolean", "number"):
        return float(value or 0)
    try:
        return float(value) if value.strip() else 0.0
    except (AttributeError, ValueError):
        return math.nan


def _string(value: object) -> str:
    kind = _kind(value)
    if kind in ("null", "string"):
        return value or ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        return str(int(value)) if float(value).is_integer() else repr(value)
    return "Array" if isinstance(value, list) else "Object"


def truthy(value: object) -> bool:
    if _kind(value) == "number":
        return value != 0 and not math.isnan(value)
    return True if _kind(value) == "object" else bool(value)


def _equal(left: object, right: object) -> bool:
    kinds = (_kind(left), _kind(right))
    if kinds[0] != kinds[1]:
        return "object" not in kinds and _number(left) == _number(right)
    if kinds[0] == "string":
        return left.casefold() == right.casefold()
    return left is right if kinds[0] == "object" else left == right


def _property(value: object, name: str) -> object:
    if isinstance(value, _Filtered):
        return _Filtered(found for item in value if (found := _property(item, name)) is not None)
    if isinstance(value, dict):
        return next((item for key, item in value.items() if key.casefold() == name.casefold()), None)
    return None


def _index(value: object, key: object) -> object:
    if isinstance(value, list) and 0 <= _number(key) < len(value):
        return value[int(_number(key))]
    return _property(value, _string(key))


def _format(text: object, *args: object) -> str:
    def field(match: re.Match) -> str:
        return _string(args[int(match[1])]) if match[1] else match[0][0]  # {0}; {{ and }} are { and }

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", field, _string(text))


FUNCTIONS = {
    "contains": lambda search, item: (any(_equal(each, item) for each in search) if isinstance(search, list)
                                      else _string(item).casefold() in _string(search).casefold()),
    "startswith": lambda text, start: _string(text).casefold().startswith(_string(start).casefold()),
    "endswith": lambda text, end: _string(text).casefold().endswith(_string(end).casefold()),
    "fromjson": lambda text: json.loads(_string(text)),
    "join": lambda items, glue=",": (_string(glue).join(map(_string, items)) if isinstance(items, list)
                                     else _string(items)),
    "format": _format,
    "success": lambda: True,  # a job's `if:` is success() && (...): no job before this one failed
}
LITERALS = {"true": True, "false": False, "null": None}


class Expression:
    """One expression, read by recursive descent and evaluated against `contexts` as it is read."""

    def __init__(self, text: str, contexts: dict) -> None:
        text = text.strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        self.tokens, at = [], 0
        while text[at:].strip():
            match = _TOKEN.match(text, at)
            if match is None:
                raise ValueError(f"cannot read the expression at {text[at:at + 30]!r}")
            self.tokens.append((match.lastindex, match[match.lastindex]))
            at = match.end()
        self.at, self.contexts = 0, {name.casefold(): value for name, value in contexts.items()}

    def value(self) -> object:
        result = self._or()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at][1]!r} in the expression")
        return result

    def _next(self) -> tuple[int, str]:
        if self.at == len(self.tokens):
            raise ValueError("the expression ends too soon")
        self.at += 1
        return self.tokens[self.at - 1]

    def _accept(self, *operators: str) -> str | None:
        if self.at < len(self.tokens) and self.tokens[self.at] in {(OPERATOR, op) for op in operators}:
            return self._next()[1]
        return None

    def _expect(self, operator: str) -> None:
        if not self._accept(operator):
            raise ValueError(f"expected {operator!r} in the expression")

    def _or(self) -> object:
        value = self._and()
        while self._accept("||"):
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> object:
        value = self._equality()
        while self._accept("&&"):
            right = self._equality()
            value = right if truthy(value) else value
        return value

    def _equality(self) -> object:
        value = self._unary()
        while operator := self._accept("==", "!="):
            value = _equal(value, self._unary()) == (operator == "==")
        return value

    def _unary(self) -> object:
        return not truthy(self._unary()) if self._accept("!") else self._postfix()

    def _postfix(self) -> object:
        value = self._primary()
        while operator := self._accept(".", "["):
            if operator == "[":
                value = _index(value, self._or())
                self._expect("]")
            elif self._accept("*"):
                value = _Filtered(value if isinstance(value, list) else
                                  value.values() if isinstance(value, dict) else ())
            else:
                kind, name = self._next()
                if kind != NAME:
                    raise ValueError(f"expected a property name, not {name!r}")
                value = _property(value, name)
        return value

    def _primary(self) -> object:
        kind, text = self._next()
        if kind == STRING:
            return text[1:-1].replace("''", "'")
        if kind == NUMBER:
            return float(text)
        if (kind, text) == (OPERATOR, "("):
            value = self._or()
            self._expect(")")
            return value
        if kind == NAME and self._accept("("):
            args = [] if self._accept(")") else [self._or()]
            while args and not self._accept(")"):
                self._expect(",")
                args.append(self._or())
            return FUNCTIONS[text.casefold()](*args)
        if kind == NAME:
            return LITERALS[text] if text in LITERALS else self.contexts[text.casefold()]
        raise ValueError(f"unexpected {text!r} in the expression")


def job_condition(workflow: Path, job: str | None = None) -> str:
    """The `if:` of the workflow's job (its only one, when `job` is not given)."""
    jobs = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]
    [chosen] = [jobs[job]] if job else jobs.values()
    return chosen["if"]


def job_runs(condition: str, event_name: str, payload: dict) -> bool:
    """Whether a job with this `if:` starts for this event (its `github` context: the event's name
    and payload)."""
    return truthy(Expression(condition, {"github": {"event_name": event_name, "event": payload}}).value())
