"""The gateway's graphql-core executor: strawberry's own, plus two shortcuts for
what the metrics API returns in bulk (a 100-step run is ~4,300 series and tens
of thousands of samples), where graphql-core's general machinery dominated the
time of a request.

- Objects that prepare their fields: before the fields of an object with a
  ``prepare_fields(info, fields)`` method resolve, it is called with the
  fields the query asks of it (aliases, fragments, @skip/@include applied as
  graphql-core collects them) and their coerced arguments; if it returns an
  awaitable, the fields resolve once that is done. DryRunNodeMetrics loads all
  its series there, so its ~43 series fields are plain data.
- Flat lists: a list whose items are of an object type in FLAT_TYPES and whose
  selected subfields are all plain leaf fields (attributes without arguments,
  resolvers or extensions) and __typename is completed by building each
  item's dict with the leaf types' output coercion directly, instead of
  resolving every field of every item. Anything the shortcut does not handle
  exactly (another item type or value, a null where none is allowed, a value
  that is not a plain str/int/float/bool, @defer, @stream, middleware) goes
  through graphql-core's normal path, which also reports any error.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Protocol, cast

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    get_argument_values,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# Object types whose lists may take the flat path (what the metrics API
# returns by the ten thousand).
FLAT_TYPES = frozenset({"PrometheusSample"})

# What a leaf attribute may hold for the flat path: nothing else can be an
# awaitable, an exception or a value needing graphql-core's handling.
_PLAIN = frozenset({str, int, float, bool})


class PreparesFields(Protocol):
    def prepare_fields(
        self, info: GraphQLResolveInfo[Any], fields: Sequence[tuple[str, dict[str, Any]]]
    ) -> Awaitable[None] | None: ...


# A field asked of an object that prepares its fields: name, coerced arguments.
_Asked = tuple[str, dict[str, Any]]

# One leaf of a flat item: response name, how to read it (None: __typename),
# its output coercion, whether it may be null.
_Leaf = tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any], bool]


class _FlatPlan:
    __slots__ = ("item_class", "item_nullable", "leaves", "type_name")

    def __init__(
        self, item_class: type, item_nullable: bool, type_name: str, leaves: list[_Leaf]
    ) -> None:
        self.item_class = item_class
        self.item_nullable = item_nullable
        self.type_name = type_name
        self.leaves = leaves

    def complete(self, items: Iterable[Any]) -> list[Any] | None:
        """The completed list, or None where the normal path must decide."""
        completed: list[Any] = []
        append = completed.append
        item_class, plain = self.item_class, _PLAIN
        try:
            for item in items:
                if item is None:
                    if not self.item_nullable:
                        return None
                    append(None)
                    continue
                if type(item) is not item_class:
                    return None
                row: dict[str, Any] = {}
                for name, read, coerce, nullable in self.leaves:
                    if read is None:
                        row[name] = self.type_name
                        continue
                    value = read(item)
                    if value is None:
                        if not nullable:
                            return None
                        row[name] = None
                        continue
                    if type(value) not in plain:
                        return None
                    coerced = coerce(value)
                    if coerced is None or coerced is Undefined:
                        return None
                    row[name] = coerced
                append(row)
        except Exception:
            return None  # the normal path raises it where it belongs
        return completed


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (item type, id of the field details list) -> plan, the list kept alive
        # so that its id is not reused (as graphql-core memoizes subfields).
        self._flat_plans: dict[tuple[str, int], tuple[FieldDetailsList, _FlatPlan | None]] = {}
        # The same for what objects that prepare their fields are asked.
        self._asked_fields: dict[tuple[str, int], tuple[FieldDetailsList, list[_Asked]]] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        complete = super().complete_object_value
        if getattr(type(result), "prepare_fields", None) is None:
            return complete(return_type, field_details_list, info, path, result, position_context)
        prepared = cast(PreparesFields, result).prepare_fields(
            info, self._asked(return_type, field_details_list)
        )
        if prepared is None:
            return complete(return_type, field_details_list, info, path, result, position_context)

        async def after_preparing() -> dict[str, Any]:
            await prepared
            completed = complete(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):
                return await cast(Awaitable[dict[str, Any]], completed)
            return cast(dict[str, Any], completed)

        return after_preparing()

    def _asked(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> list[_Asked]:
        """(field name, coerced arguments) of each field the query asks; a field
        whose arguments do not coerce is left out (executing it reports that).
        Memoized: the objects of a list share their field details."""
        key = (return_type.name, id(field_details_list))
        cached = self._asked_fields.get(key)
        if cached is None:
            cached = (field_details_list, self._collect_asked(return_type, field_details_list))
            self._asked_fields[key] = cached
        return cached[1]

    def _collect_asked(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> list[_Asked]:
        asked: list[_Asked] = []
        grouped = self.collect_subfields(return_type, field_details_list).grouped_field_set
        for details_list in grouped.values():
            details = details_list[0]
            name = details.node.name.value
            field = return_type.fields.get(name)
            if field is None:
                continue
            try:
                args = get_argument_values(
                    field,
                    details.node,
                    self.variable_values,
                    details.fragment_variable_values,
                    self.hide_suggestions,
                )
            except Exception:
                continue
            asked.append((name, args))
        return asked

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if type(result) is list or type(result) is tuple:
            plan = self._flat_plan(return_type.of_type, field_details_list, path)
            if plan is not None:
                completed = plan.complete(result)
                if completed is not None:
                    return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _flat_plan(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList, path: Path
    ) -> _FlatPlan | None:
        object_type = get_nullable_type(item_type)
        if not is_object_type(object_type) or object_type.name not in FLAT_TYPES:
            return None
        key = (object_type.name, id(field_details_list))
        cached = self._flat_plans.get(key)
        if cached is None:
            cached = (field_details_list, self._new_flat_plan(item_type, field_details_list))
            self._flat_plans[key] = cached
        plan = cached[1]
        # Per list, not memoized: @stream depends on its `if` and the path.
        if plan is None or self.get_stream_usage(field_details_list, path) is not None:
            return None
        return plan

    def _new_flat_plan(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> _FlatPlan | None:
        object_type = cast(GraphQLObjectType, get_nullable_type(item_type))
        definition = (object_type.extensions or {}).get("strawberry-definition")
        item_class = getattr(definition, "origin", None)
        if (
            not isinstance(item_class, type)
            or object_type.is_type_of is not None
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
        ):
            return None
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages:
            return None
        leaves: list[_Leaf] = []
        for response_name, details_list in collected.grouped_field_set.items():
            if any(d.defer_usage is not None or d.node.arguments for d in details_list):
                return None
            name = details_list[0].node.name.value
            if name == "__typename":
                leaves.append((response_name, None, str, False))
                continue
            field = object_type.fields.get(name)
            if field is None or field.args:
                return None
            leaf_type = get_nullable_type(field.type)
            strawberry_field = (field.extensions or {}).get("strawberry-definition")
            if (
                not is_leaf_type(leaf_type)
                or not isinstance(strawberry_field, StrawberryField)
                # strawberry's resolver for a plain attribute: the attribute, read
                # with the configured default resolver.
                or not getattr(field.resolve, "_is_default", False)
                or strawberry_field.default_resolver is not getattr
            ):
                return None
            leaves.append(
                (
                    response_name,
                    attrgetter(strawberry_field.python_name),
                    leaf_type.coerce_output_value,
                    not is_non_null_type(field.type),
                )
            )
        return _FlatPlan(item_class, not is_non_null_type(item_type), object_type.name, leaves)
