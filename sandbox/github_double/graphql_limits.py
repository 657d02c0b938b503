"""How much a GraphQL document asks for, measured the way GitHub documents it, before running it.

Node count: each connection can return `first` (or `last`) nodes for every node of the
connections it sits in, so its contribution is the product of the page sizes along its path;
a call may request at most 500,000 nodes in total.
Cost: each connection needs one request per node of its enclosing connections; the sum over all
connections divided by 100 and rounded is the rate-limit score, never less than 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    GraphQLInt,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_interface_type,
    is_object_type,
    value_from_ast,
)
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

NODE_LIMIT = 500_000


@dataclass
class QuerySize:
    node_count: int = 0
    requests: int = 0
    exceeded_at: str | None = None  # the connection where the running node count passed the limit
    exceeded_count: int = 0

    @property
    def cost(self) -> int:
        return max(1, (self.requests + 50) // 100)

    @property
    def limit_message(self) -> str | None:
        if self.exceeded_at is None:
            return None
        return (f"By the time this query traverses to the {self.exceeded_at} connection, it is requesting "
                f"up to {self.exceeded_count:,} possible nodes which exceeds the maximum limit of "
                f"{NODE_LIMIT:,}.")


def is_connection(named: GraphQLNamedType) -> bool:
    return (is_object_type(named) or is_interface_type(named)) and "pageInfo" in named.fields and (
        "nodes" in named.fields or "edges" in named.fields)


class _Measure:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {definition.name.value: definition for definition in document.definitions
                          if isinstance(definition, FragmentDefinitionNode)}
        self.size = QuerySize()

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType,
                   multiplier: int, spreading: frozenset[str]) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                self.field(selection, parent, multiplier, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, inner or parent, multiplier, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in spreading:
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    self.selections(fragment.selection_set, inner or parent, multiplier, spreading | {name})

    def field(self, node: FieldNode, parent: GraphQLNamedType, multiplier: int,
              spreading: frozenset[str]) -> None:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(node.name.value)
        if definition is None:
            return  # __typename and other meta fields
        named = get_named_type(definition.type)
        if is_connection(named):
            page = self.page_size(node)
            self.size.requests += multiplier
            multiplier *= page
            self.size.node_count += multiplier
            if self.size.exceeded_at is None and self.size.node_count > NODE_LIMIT:
                self.size.exceeded_at = node.name.value
                self.size.exceeded_count = self.size.node_count
        self.selections(node.selection_set, named, multiplier, spreading)

    def page_size(self, node: FieldNode) -> int:
        """The larger of `first` and `last`; a connection without either returns nothing."""
        sizes = [0]
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = value_from_ast(argument.value, GraphQLInt, self.variables)
                if isinstance(value, int):
                    sizes.append(value)
        return max(sizes)


def measure(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
            variables: dict) -> QuerySize:
    """Node count and cost of one operation, with its variables' values (already coerced)."""
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    walker = _Measure(schema, document, variables)
    if root is not None:
        walker.selections(operation.selection_set, root, 1, frozenset())
    return walker.size
