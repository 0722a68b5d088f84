"""Who is who in the local stack's mesh: the six services, each with its
own certificate and NATS user, and the users beside them."""

from typing import Final

from simpipe_events.permissions import PROVISIONER, READER

SERVICE_NAMES: Final = (
    "workflow-submitter",
    "argo-watcher",
    "metrics-collector",
    "storage-broker",
    "kwok-scaler",
    "gateway",
)

# The integration tests: a certificate every service of the local stack
# answers (SIMPIPE_GRPC_EXTRA_CALLERS) and a NATS user with every right, as
# they play each service's part (publish junk, make streams of their own).
TESTS: Final = "tests"

# Who gets a certificate of the mesh's CA.
MESH_IDENTITIES: Final = (*SERVICE_NAMES, TESTS)
# Who gets a NATS user: the services, the stream's provisioning, a
# read-only user for tools, the tests.
NATS_USERS: Final = (*SERVICE_NAMES, PROVISIONER, READER, TESTS)
