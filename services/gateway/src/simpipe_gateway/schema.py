"""The GraphQL schema: a superset of the original SIM-PIPE controller API
(same type, field, query, mutation and argument names) plus subscriptions,
assembled from one module per area."""

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from simpipe_gateway.dry_run_api import DryRunMutation, DryRunQuery, Subscription
from simpipe_gateway.executor import GatewayExecutor
from simpipe_gateway.metrics_api import METRICS_SCALARS, MetricsLoaders, MetricsQuery
from simpipe_gateway.operation_cache import OperationCache
from simpipe_gateway.storage_api import StorageMutation, StorageQuery
from simpipe_gateway.types import DOCUMENT_SCALARS, DryRunNodeMisc, DryRunNodePod

log = structlog.get_logger(__name__)


def _unexpected(error: GraphQLError) -> bool:
    """A bug, not a typed failure: logged here, shown to clients as a code only."""
    if error.original_error is None or "code" in (error.extensions or {}):
        return False
    log.error("resolver failed", path=error.path, error=repr(error.original_error))
    return True


# One schema from each area's types (dry_run_api, and storage, metrics, ...
# in their own modules): add an area's Query/Mutation to these tuples.
Query = merge_types("Query", (DryRunQuery, StorageQuery, MetricsQuery))
Mutation = merge_types("Mutation", (DryRunMutation, StorageMutation))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        OperationCache,
        MetricsLoaders,
        lambda: MaskErrors(should_mask_error=_unexpected, error_message="internal error"),
    ],
    # The kinds of DryRunNode, reached only through the interface.
    types=[DryRunNodePod, DryRunNodeMisc],
    config=StrawberryConfig(scalar_map={**DOCUMENT_SCALARS, **METRICS_SCALARS}),
    # Step metrics load once per step, and sample lists complete without
    # resolving each sample's fields (simpipe_gateway.executor).
    execution_context_class=GatewayExecutor,
)
