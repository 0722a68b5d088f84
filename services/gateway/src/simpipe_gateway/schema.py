"""The GraphQL schema: a superset of the original SIM-PIPE controller API
(same type, field, query, mutation and argument names) plus subscriptions
and access tokens, assembled from one module per area, with the gateway's
bounds (simpipe_gateway.bounds), deadlines (simpipe_gateway.deadline) and
error reporting (simpipe_gateway.error_reporting)."""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, DisableIntrospection, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from simpipe_gateway.access_token_api import AccessTokenMutation, AccessTokenQuery
from simpipe_gateway.bounds import QueryLimits, bounds_rule
from simpipe_gateway.carbontracker_api import CarbonTrackerQuery
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.deadline import RequestDeadline
from simpipe_gateway.dry_run_api import DryRunMutation, DryRunQuery
from simpipe_gateway.dry_run_api import Subscription as DryRunSubscription
from simpipe_gateway.error_reporting import report_errors
from simpipe_gateway.metrics_api import (
    METRICS_SCALARS,
    MetricsLoaders,
    MetricsMutation,
    MetricsQuery,
)
from simpipe_gateway.multipart_api import MultipartMutation
from simpipe_gateway.not_run_here_api import NotRunHereMutation, NotRunHereQuery
from simpipe_gateway.operation_cache import OperationCache
from simpipe_gateway.query_length import QueryLengthLimiter
from simpipe_gateway.registry_credential_api import (
    RegistryCredentialMutation,
    RegistryCredentialQuery,
)
from simpipe_gateway.simulation_api import (
    SimulationMutation,
    SimulationQuery,
    SimulationSubscription,
)
from simpipe_gateway.step_log_feed import StepLogSubscription
from simpipe_gateway.storage_api import StorageMutation, StorageQuery
from simpipe_gateway.types import DOCUMENT_SCALARS, DryRunNodeMisc, DryRunNodePod
from simpipe_gateway.virtual_cluster_api import VirtualClusterMutation, VirtualClusterQuery

# One schema from each area's types (dry_run_api, and storage, metrics, ...
# in their own modules): add an area's Query/Mutation to these tuples.
Query = merge_types(
    "Query",
    (
        DryRunQuery,
        StorageQuery,
        MetricsQuery,
        AccessTokenQuery,
        VirtualClusterQuery,
        SimulationQuery,
        CarbonTrackerQuery,
        NotRunHereQuery,
        RegistryCredentialQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        DryRunMutation, StorageMutation, AccessTokenMutation, VirtualClusterMutation,
        SimulationMutation, MetricsMutation, NotRunHereMutation, RegistryCredentialMutation,
        MultipartMutation,
    ),
)  # fmt: skip
Subscription = merge_types(
    "Subscription", (DryRunSubscription, SimulationSubscription, StepLogSubscription)
)


class GatewaySchema(strawberry.Schema):
    def __init__(self, limits: QueryLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry hands every error of every operation here, before the
        response is made: each is typed, logged at its level and stripped of
        internals (simpipe_gateway.error_reporting)."""
        report_errors(errors, self.limits.tokens)


def limits_of(settings: GatewaySettings) -> QueryLimits:
    return QueryLimits(
        depth=settings.max_query_depth,
        aliases=settings.max_query_aliases,
        tokens=settings.max_query_tokens,
        cost=settings.max_query_cost,
    )


def build_schema(settings: GatewaySettings) -> GatewaySchema:
    limits = limits_of(settings)
    # Made once: the rule class is part of OperationCache's key.
    bounds = bounds_rule(limits)
    extensions: list[Any] = [
        lambda: QueryLengthLimiter(settings.max_query_chars),
        lambda: MaxTokensLimiter(max_token_count=limits.tokens),
        lambda: AddValidationRules([bounds]),
        OperationCache,
        MetricsLoaders,
        lambda: RequestDeadline(settings.request_timeout_seconds, settings.rpc_timeout_seconds),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        limits,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # The kinds of DryRunNode, reached only through the interface.
        types=[DryRunNodePod, DryRunNodeMisc],
        config=StrawberryConfig(scalar_map={**DOCUMENT_SCALARS, **METRICS_SCALARS}),
    )
