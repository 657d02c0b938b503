"""GraphQL errors worded the way GitHub's GraphQL API (graphql-ruby) words them.

graphql-core finds the same problems in a document as GitHub does but phrases them differently;
clients and people match on GitHub's phrasing, so the common ones are translated, with the
`path` and `extensions` GitHub adds. Anything not translated keeps graphql-core's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import GraphQLError, GraphQLSyntaxError, Lexer, Source, TokenKind
from graphql.language import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

QUERY_ATTRIBUTE_MISSING = "A query attribute must be specified and must be a string."


class FieldError(Exception):
    """Raised by a resolver: GitHub reports it with a `type` (NOT_FOUND, FORBIDDEN, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def plain_error(message: str) -> dict:
    return {"message": message}


def typed_error(kind: str, message: str) -> dict:
    return {"type": kind, "message": message}


def locations(error: GraphQLError) -> list[dict]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or []]


def execution_error(error: GraphQLError) -> dict:
    """An error raised while resolving: GitHub's keys, with `type` for the ones it types."""
    original = error.original_error
    body: dict = {}
    if isinstance(original, FieldError):
        body["type"] = original.kind
    body["path"] = error.path
    body["locations"] = locations(error)
    body["message"] = original.message if isinstance(original, FieldError) else error.message
    return body


# -- syntax errors -------------------------------------------------------------------------------
# graphql-ruby's names for the tokens graphql-core lexes.
_TOKEN_NAMES = {
    TokenKind.BANG: "BANG", TokenKind.DOLLAR: "VAR_SIGN", TokenKind.AMP: "AMP",
    TokenKind.PAREN_L: "LPAREN", TokenKind.PAREN_R: "RPAREN", TokenKind.SPREAD: "ELLIPSIS",
    TokenKind.COLON: "COLON", TokenKind.EQUALS: "EQUALS", TokenKind.AT: "DIR_SIGN",
    TokenKind.BRACKET_L: "LBRACKET", TokenKind.BRACKET_R: "RBRACKET", TokenKind.BRACE_L: "LCURLY",
    TokenKind.PIPE: "PIPE", TokenKind.BRACE_R: "RCURLY", TokenKind.INT: "INT", TokenKind.FLOAT: "FLOAT",
    TokenKind.STRING: "STRING", TokenKind.BLOCK_STRING: "STRING",
}  # fmt: skip
_KEYWORDS = {"query", "mutation", "subscription", "fragment", "on", "true", "false", "null", "schema",
             "scalar", "type", "interface", "union", "enum", "input", "extend", "directive", "implements",
             "repeatable"}


def syntax_error(error: GraphQLSyntaxError, query: str) -> dict:
    """'Parse error on "foo" (IDENTIFIER) at [1, 1]', naming the token the parser stopped at."""
    where = error.locations[0] if error.locations else None
    token = _token_at(query, error.positions[0]) if error.positions else None
    if where is None or token is None:
        return {"message": error.message, "locations": locations(error)}
    if token.kind == TokenKind.EOF:
        return {"message": "Unexpected end of document", "locations": []}
    text = token.value if token.value is not None else token.kind.value
    if token.kind == TokenKind.NAME:
        kind = text.upper() if text in _KEYWORDS else "IDENTIFIER"
    else:
        kind = _TOKEN_NAMES.get(token.kind, token.kind.name)
    return {
        "message": f'Parse error on "{text}" ({kind}) at [{where.line}, {where.column}]',
        "locations": [{"line": where.line, "column": where.column}],
    }


def _token_at(query: str, position: int):
    lexer = Lexer(Source(query))
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF and token.end <= position:
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None  # the error is in the lexing itself: no token to name
    return token


# -- validation errors ---------------------------------------------------------------------------
class DocumentIndex:
    """Where each node of a document sits, as graphql-ruby reports it in an error's `path`."""

    def __init__(self, document: DocumentNode) -> None:
        self.paths: dict[int, list[str]] = {}
        self.arguments: dict[int, tuple[ArgumentNode, Node]] = {}  # value node -> (argument, owner)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = f" {definition.name.value}" if definition.name else ""
                self._walk(definition, [f"{definition.operation.value}{name}"])
            elif isinstance(definition, FragmentDefinitionNode):
                self._walk(definition, [f"fragment {definition.name.value}"])

    def path(self, node: Node | None) -> list[str] | None:
        return self.paths.get(id(node)) if node is not None else None

    def _walk(self, node: Node, path: list[str]) -> None:
        self.paths[id(node)] = path
        for directive in getattr(node, "directives", None) or ():
            self._arguments(directive, path)
        for variable in getattr(node, "variable_definitions", None) or ():
            self.paths[id(variable)] = path
        if isinstance(node, FieldNode):
            self._arguments(node, path)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            self.paths[id(selection_set)] = path
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                step = (selection.alias or selection.name).value
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                step = f"... on {condition.name.value}" if condition else "..."
            else:
                step = f"... {selection.name.value}" if isinstance(selection, FragmentSpreadNode) else "?"
            self._walk(selection, [*path, step])

    def _arguments(self, owner: FieldNode | DirectiveNode, path: list[str]) -> None:
        for argument in owner.arguments or ():
            self.paths[id(argument)] = [*path, argument.name.value]
            self._values(argument.value, argument, owner, [*path, argument.name.value])

    def _values(self, value: Node, argument: ArgumentNode, owner: Node, path: list[str]) -> None:
        self.paths[id(value)] = path
        self.arguments[id(value)] = (argument, owner)
        for item in getattr(value, "values", None) or ():
            self._values(item, argument, owner, path)
        for field in getattr(value, "fields", None) or ():
            self._values(field.value, argument, owner, [*path, field.name.value])


def _owner_kind(owner: Node) -> str:
    return "Directive" if isinstance(owner, DirectiveNode) else "Field"


def _undefined_field(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    field, type_name = match.group(1), match.group(2)
    return {"message": f"Field '{field}' doesn't exist on type '{type_name}'",
            "extensions": {"code": "undefinedField", "typeName": type_name, "fieldName": field}}


def _unknown_argument(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    argument, kind, owner = match.group(1), match.group(2).capitalize(), match.group(3).split(".")[-1]
    owner = owner.lstrip("@")
    return {"message": f"{kind} '{owner}' doesn't accept argument '{argument}'",
            "extensions": {"code": "argumentNotAccepted", "name": owner, "typeName": kind,
                           "argumentName": argument}}


def _missing_argument(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    kind, owner, argument = "Directive" if match.group(1) else "Field", match.group(2), match.group(3)
    return {"message": f"{kind} '{owner}' is missing required arguments: {argument}",
            "extensions": {"code": "missingRequiredArguments", "className": kind, "name": owner,
                           "arguments": argument}}


def _needs_selections(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    field, type_name = match.group(1), match.group(2).strip("[]!")
    return {"message": f"Field must have selections (field '{field}' returns {type_name} but has no "
                       f"selections. Did you mean '{field} {{ ... }}'?)",
            "extensions": _selection_mismatch(field, type_name)}


def _no_selections_allowed(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    field, type_name = match.group(1), match.group(2).strip("[]!")
    node = error.nodes[0] if error.nodes else None  # the field's selection set
    selections = node.selections if isinstance(node, SelectionSetNode) else ()
    names = ", ".join(s.name.value for s in selections if isinstance(s, FieldNode))
    return {"message": f"Selections can't be made on scalars (field '{field}' returns {type_name} but "
                       f"has selections [{names}])",
            "extensions": _selection_mismatch(field, type_name)}


def _selection_mismatch(field: str, type_name: str) -> dict:
    return {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name}


def _invalid_literal(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict | None:
    node = error.nodes[0] if error.nodes else None
    found = index.arguments.get(id(node))
    if found is None:
        return None
    argument, owner = found
    kind = _owner_kind(owner)
    expected = match.group(1) or match.group(2)
    return {"message": f"Argument '{argument.name.value}' on {kind} '{owner.name.value}' has an invalid "
                       f"value. Expected type '{expected}'.",
            "extensions": {"code": "argumentLiteralsIncompatible", "typeName": kind,
                           "argumentName": argument.name.value}}


def _unused_variable(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    variable, operation = match.group(1), match.group(2) or "anonymous query"
    return {"message": f"Variable ${variable} is declared by {operation} but not used",
            "extensions": {"code": "variableNotUsed", "variableName": variable}}


def _undeclared_variable(match: re.Match, error: GraphQLError, index: DocumentIndex) -> dict:
    variable, operation = match.group(1), match.group(2) or "anonymous query"
    return {"message": f"Variable ${variable} is used by {operation} but not declared",
            "extensions": {"code": "variableNotDefined", "variableName": variable}}


_Translator = Callable[[re.Match, GraphQLError, DocumentIndex], "dict | None"]
_TRANSLATIONS: list[tuple[re.Pattern, _Translator]] = [
    (re.compile(r"^Cannot query field '(.+?)' on type '(.+?)'\."), _undefined_field),
    (re.compile(r"^Unknown argument '(.+?)' on (field|directive) '(.+?)'\."), _unknown_argument),
    (re.compile(r"^Argument '(@)?(?:\w+\.)?(\w+)\((\w+):\)' of type '.+?' is required"), _missing_argument),
    (re.compile(r"^Field '(.+?)' of type '(.+?)' must have a selection of subfields"), _needs_selections),
    (re.compile(r"^Field '(.+?)' must not have a selection since type '(.+?)' has no subfields"),
     _no_selections_allowed),
    (re.compile(r"^(?:Expected value of type '(.+?)', (?:but encountered error .*?; )?found"
                r"|(\w+) cannot represent)"), _invalid_literal),
    (re.compile(r"^Variable '\$(.+?)' is never used(?: in operation '(.+?)')?\."), _unused_variable),
    (re.compile(r"^Variable '\$(.+?)' is not defined(?: by operation '(.+?)')?\."), _undeclared_variable),
]


def validation_error(error: GraphQLError, index: DocumentIndex) -> dict:
    """One static validation error in GitHub's shape: path, extensions, locations, message."""
    node = error.nodes[0] if error.nodes else None
    translated = None
    for pattern, translate in _TRANSLATIONS:
        match = pattern.match(error.message)
        if match:
            translated = translate(match, error, index)
            break
    body: dict = {}
    path = index.path(node)
    if path is not None:
        body["path"] = path
    if translated and "extensions" in translated:
        body["extensions"] = translated["extensions"]
    body["locations"] = locations(error)
    body["message"] = translated["message"] if translated else error.message
    return body


def merge_missing_arguments(errors: list[dict]) -> list[dict]:
    """graphql-ruby names all of a field's missing arguments in one error; graphql-core gives one each."""
    merged: list[dict] = []
    by_owner: dict[tuple, dict] = {}
    for error in errors:
        extensions = error.get("extensions", {})
        if extensions.get("code") != "missingRequiredArguments":
            merged.append(error)
            continue
        key = (tuple(error.get("path", ())), extensions["name"])
        if key not in by_owner:
            by_owner[key] = error
            merged.append(error)
            continue
        first = by_owner[key]
        arguments = f"{first['extensions']['arguments']}, {extensions['arguments']}"
        first["extensions"]["arguments"] = arguments
        kind, name = first["extensions"]["className"], first["extensions"]["name"]
        first["message"] = f"{kind} '{name}' is missing required arguments: {arguments}"
    return merged
