"""An operation's size, bounded before anything executes.

Four bounds, each refused with QUERY_TOO_COMPLEX, with or without a token:
- tokens: strawberry's MaxTokensLimiter stops the parser past the limit;
- cost: an estimate of the work a document asks for (below), so that a
  fan-out through lists (projects -> dryRuns -> project -> dryRuns ...) is
  refused however it is written. Strawberry has no cost extension, so this
  module counts it; fragments are counted once each, so a document that
  spreads fragments into each other many times costs what it asks for
  without the count itself taking that long;
- depth and aliases: strawberry's QueryDepthLimiter and MaxAliasesLimiter
  rules, run here on their own once the cost is known to be bounded (their
  walks expand every fragment spread: at most `cost` fields then).

The rule of these bounds (bounds_rule) runs first in graphql-core's
validation and ends it when a bound is passed: a refused document is neither
validated further nor executed.

Cost: every selected field, fragment spread and inline fragment costs 1, a
field whose resolver may call a service (an async resolver) RESOLVER_COST,
and what is selected below a list counts LIST_FACTOR times (lists in lists
multiply); introspection fields read the schema in memory, so no list
multiplies below them. Every selection costs at least 1: the depth and alias
rules, which expand each spread, visit at most `cost` selections.
"""

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_nullable_type,
    validate,
)
from graphql.validation import ASTValidationRule, ValidationContext, ValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.types.field import StrawberryField

from simpipe_gateway.errors import QUERY_TOO_COMPLEX

RESOLVER_COST = 10
LIST_FACTOR = 10


@dataclass(frozen=True)
class QueryLimits:
    """The bounds of one operation (GatewaySettings.max_query_*)."""

    depth: int
    aliases: int
    tokens: int
    cost: int


def token_limit_message(limit: int) -> str:
    """What graphql-core's parser says when MaxTokensLimiter stops it."""
    return f"Syntax Error: Document contains more than {limit} tokens. Parsing aborted."


def is_token_limit(error: GraphQLError, limit: int) -> bool:
    return isinstance(error, GraphQLSyntaxError) and error.message == token_limit_message(limit)


class _Cost:
    """The cost of a document's operations, each fragment counted once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.fragment_costs: dict[str, int] = {}
        self.counting: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return self.selections(operation.selection_set, root)

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += 1 + self.selections(selection.selection_set, on)
            elif isinstance(selection, FragmentSpreadNode):
                total += 1 + self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        known = self.fragment_costs.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.counting:
            return 0  # unknown or cyclic: validation reports it
        self.counting.add(name)
        cost = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.counting.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            # In-memory reads of the schema: no lists multiply them.
            return 1 + self.selections(node.selection_set, None)
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        definition: GraphQLField | None = fields.get(name)
        if definition is None:  # not in the schema: validation reports it
            return 1 + self.selections(node.selection_set, None)
        factor = 1
        output = get_nullable_type(definition.type)
        while isinstance(output, GraphQLList):
            factor *= LIST_FACTOR
            output = get_nullable_type(output.of_type)
        below = self.selections(node.selection_set, output)
        return _own_cost(definition) + factor * below


def _own_cost(field: GraphQLField) -> int:
    strawberry_field = (field.extensions or {}).get("strawberry-definition")
    if isinstance(strawberry_field, StrawberryField) and strawberry_field.is_async:
        return RESOLVER_COST
    return 1


def document_cost(schema: GraphQLSchema, document: DocumentNode) -> int:
    """The costliest operation of the document."""
    cost = _Cost(schema, document)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return max((cost.operation(o) for o in operations), default=0)


class QueryTooComplexError(ValidationAbortedError):
    """Ends graphql-core's validation at once: nothing else looks at a
    document beyond the bounds (graphql-core returns this error alone)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": QUERY_TOO_COMPLEX})


def _refusal(
    context: ValidationContext,
    limits: QueryLimits,
    depth_and_aliases: tuple[type[ASTValidationRule], ...],
) -> str | None:
    try:
        cost = document_cost(context.schema, context.document)
    except RecursionError:
        return "the operation nests too deeply to be counted"
    if cost > limits.cost:
        return f"the operation costs {cost}; the limit is {limits.cost}"
    for error in validate(context.schema, context.document, depth_and_aliases):
        return error.message
    return None


def bounds_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    """The validation rule of `limits`. Made once per schema: the rule class is
    part of OperationCache's key."""
    depth_and_aliases = (
        *QueryDepthLimiter(max_depth=limits.depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.aliases).validation_rules,
    )

    class RequestBoundsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.refusal = _refusal(context, limits, depth_and_aliases)

        def enter_document(self, *_args: object) -> None:
            # The first node of the visit: the other rules have not looked
            # at anything yet.
            if self.refusal is not None:
                raise QueryTooComplexError(self.refusal)

    return RequestBoundsRule
