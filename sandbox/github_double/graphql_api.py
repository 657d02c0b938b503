"""POST /graphql: GitHub's GraphQL API over the world, checked against GitHub's published schema.

The server authenticates the caller and parses the JSON body; `execute_graphql` does the rest
as GitHub does: reject what GitHub's validation rejects (HTTP 200 with `errors`), enforce the
connection and node limits, charge the query's cost to the token's GraphQL rate-limit window,
then resolve it with the classes in `graphql_objects`.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationType,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import (
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    print_ast,
)

from github_double.auth import Principal
from github_double.graphql_errors import (
    QUERY_ATTRIBUTE_MISSING,
    DocumentIndex,
    execution_error,
    locations,
    merge_missing_arguments,
    plain_error,
    syntax_error,
    typed_error,
    validation_error,
)
from github_double.graphql_limits import QuerySize, measure
from github_double.graphql_objects import Caller, type_name
from github_double.graphql_project_mutations import ProjectMutationRoot
from github_double.graphql_projects import ProjectQueryRoot
from github_double.world import Token, World

SCHEMA_FILE = Path(__file__).with_name("github-schema.graphql")
RATE_RESOURCE = "graphql"

Answer = tuple[int, dict]


@cache
def github_schema() -> GraphQLSchema:
    """GitHub's schema, built once per process."""
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # GitHub deprecates `id` on some types whose Node interface field is not deprecated, which
    # GraphQL's type-system rules forbid; GitHub serves it anyway. Documents are validated as usual.
    schema._validation_errors = []
    _iso_dates(schema.type_map["Date"])
    return schema


def _iso_dates(scalar: GraphQLScalarType) -> None:
    """GitHub's Date takes an ISO 8601 date (of a date and time, the date) and refuses anything else."""

    def value(raw: object) -> str:
        try:
            return date.fromisoformat(raw[:10] if isinstance(raw, str) else "").isoformat()
        except ValueError:
            raise GraphQLError(f"Could not coerce value {json.dumps(raw)} to Date") from None

    def literal(node: ValueNode, variables: dict | None = None) -> str:
        # Not a GraphQLError: validation then reports "Expected value of type 'Date', found ...".
        if not isinstance(node, StringValueNode):
            raise TypeError("not a string")
        try:
            return value(node.value)
        except GraphQLError:
            raise ValueError("not a date") from None

    scalar.parse_value = scalar.coerce_input_value = value
    scalar.parse_literal = literal


@lru_cache(maxsize=256)
def parse_document(query: str) -> DocumentNode:
    """A query's document, parsed once: clients send the same few queries over and over.
    Raises GraphQLSyntaxError."""
    return parse(query)


def is_mutation(payload: object) -> bool:
    """Whether a /graphql request body runs a mutation (what GitHub's secondary limits charge 5)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return False
    try:
        document = parse_document(payload["query"])
    except GraphQLSyntaxError:
        return False
    name = payload.get("operationName")
    operation = get_operation_ast(document, name if isinstance(name, str) and name else None)
    return operation is not None and operation.operation == OperationType.MUTATION


def execute_graphql(world: World, token: Token, payload: dict, base_url: str) -> Answer:
    """Run one GraphQL request for `token`; `base_url` is where html links (`url` fields) point."""
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        return 200, {"errors": [plain_error(QUERY_ATTRIBUTE_MISSING)]}
    variables = _variables(payload.get("variables"))
    if variables is None:
        return 200, {"errors": [plain_error("Variables are invalid JSON.")]}
    try:
        document = parse_document(query)
    except GraphQLSyntaxError as error:
        return 200, {"errors": [syntax_error(error, query)]}
    schema = github_schema()
    # graphql-ruby checks a document in one pass, so its errors come in document order.
    problems = sorted(validate(schema, document), key=_first_location)
    if problems:
        index = DocumentIndex(document)
        return 200, {"errors": merge_missing_arguments([validation_error(e, index) for e in problems])}
    operation = _operation(document, payload.get("operationName"))
    if isinstance(operation, dict):
        return 200, {"errors": [operation]}
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return 200, {"errors": [_variable_error(e, operation, variables) for e in coerced]}
    size = measure(schema, document, operation, coerced.coerced)
    if size.limit_message:
        return 200, {"errors": [typed_error("MAX_NODE_LIMIT_EXCEEDED", size.limit_message)]}
    with world.lock:
        status, body = _run(world, token, base_url, schema, document, operation, variables, size)
        for edit in world.graphql_edits:
            edit(body)
        return status, body


def _first_location(error: GraphQLError) -> tuple[int, int]:
    where = error.locations[0] if error.locations else None
    return (where.line, where.column) if where else (0, 0)


def _variables(raw: object) -> dict | None:
    """The request's variables: an object, a JSON string of one, or nothing."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def _operation(document: DocumentNode, name: object) -> OperationDefinitionNode | dict:
    operation = get_operation_ast(document, name if isinstance(name, str) else None)
    if operation is not None:
        return operation
    if isinstance(name, str) and name:
        return plain_error(f'No operation named "{name}"')
    return plain_error("An operation name is required")


def _variable_error(error: GraphQLError, operation: OperationDefinitionNode, variables: dict) -> dict:
    """graphql-ruby's wording: the variable, its declared type, the value and what is wrong with it."""
    match = re.match(r"^Variable '\$(\w+)'", error.message)
    named = match[1] if match else None
    definition = next((d for d in operation.variable_definitions or ()
                       if isinstance(d, VariableDefinitionNode) and d.variable.name.value == named), None)
    if definition is None:
        return {"locations": locations(error), "message": error.message}
    name = definition.variable.name.value
    if error.original_error is not None:
        explanation = str(error.original_error)
    elif "was not provided" in error.message:
        explanation = "Expected value to not be null"
    else:
        explanation = error.message
    return {
        "extensions": {"value": variables.get(name), "problems": [{"path": [], "explanation": explanation}]},
        "locations": locations(error),
        "message": f"Variable ${name} of type {print_ast(definition.type)} was provided invalid value",
    }


def _run(world: World, token: Token, web: str, schema: GraphQLSchema, document: DocumentNode,
         operation: OperationDefinitionNode, variables: dict, size: QuerySize) -> Answer:
    rate = world.rate_window(rate_key(token), RATE_RESOURCE, token.rate_limit)
    if rate.remaining < size.cost:
        who = f"installation ID {token.installation_id}" if token.installation_id else "this token"
        return 200, {"errors": [typed_error("RATE_LIMITED", f"API rate limit exceeded for {who}.")]}
    rate.used += size.cost
    caller = Caller(world, token, web.rstrip("/"), size, rate)
    mutation = operation.operation == OperationType.MUTATION
    root = ProjectMutationRoot(caller) if mutation else ProjectQueryRoot(caller)
    result = execute(schema, document, root_value=root, variable_values=variables,
                     operation_name=operation.name.value if operation.name else None, type_resolver=type_name)
    body: dict = {"data": result.data}
    if result.errors:
        body["errors"] = [execution_error(error) for error in result.errors]
    return 200, body


def rate_key(token: Token) -> str:
    """The token's rate-limit principal, the same one the REST face charges."""
    return Principal("workflow" if token.is_workflow else "installation", token=token).rate_key
