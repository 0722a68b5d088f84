"""Labels and annotations a user may write.

Prefixed keys (`example.com/key`) are read by controllers, admission webhooks
and node agents: Argo's `workflows.argoproj.io/controller-instanceid`,
kube2iam's `iam.amazonaws.com/role`, SIM-PIPE's own `simpipe.io/owner`. So a
user writes unprefixed keys only, plus:
- annotations `simpipe.io/sim-*`, the simulation hints KWOK's pod stages read
  (README "Simulated steps on KWOK nodes");
- on the Workflow or WorkflowTemplate and its spec.workflowMetadata, Argo's
  display annotations `workflows.argoproj.io/description`, `title` and
  `version`.
On the document's own metadata, the keys SIM-PIPE stamps (owner, project)
and the Argo server's creator labels are accepted and dropped, to be set
again by the service and Argo, so a document read back from SIM-PIPE can be
sent again; the server's fields (uid, resourceVersion, ...) likewise.
"""

import re
from typing import Any

from simpipe_common.ownership import (
    ANNOTATION_OWNER,
    LABEL_MANAGED,
    LABEL_OWNER_HASH,
    LABEL_PROJECT,
)
from simpipe_workflow_submitter.policy.rules import (
    Anything,
    Custom,
    Entries,
    Fields,
    Path,
    RefusedError,
    Rule,
    Text,
    Walk,
)

# A Workflow passed the policy of this version when it was created: commands
# that run its pods again (resubmit, retry, resume) ask for it.
POLICY_ANNOTATION = "simpipe.io/policy"
POLICY_VERSION = "1"

SIMULATION_HINT_PREFIX = "simpipe.io/sim-"
ARGO_DISPLAY_ANNOTATIONS = frozenset(
    f"workflows.argoproj.io/{name}" for name in ("description", "title", "version")
)
# Set by the service (ownership.stamp, the policy marker) or by the Argo
# server (creator.Label) on every object they store.
SERVICE_LABELS = frozenset(
    {LABEL_PROJECT, LABEL_OWNER_HASH, LABEL_MANAGED}
    | {
        f"workflows.argoproj.io/{name}"
        for name in ("creator", "creator-email", "creator-preferred-username")
    }
)
SERVICE_ANNOTATIONS = frozenset({ANNOTATION_OWNER, POLICY_ANNOTATION})
SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
)

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_PREFIX_LENGTH = 253


def _key(allowed: frozenset[str], hint_prefix: str | None) -> Rule:
    def check(key: str, at: Path, walk: Walk) -> None:
        prefix, slash, name = key.rpartition("/")
        valid = bool(_NAME.fullmatch(name)) and (
            not slash
            or (len(prefix) <= MAX_PREFIX_LENGTH and bool(_DNS_SUBDOMAIN.fullmatch(prefix)))
        )
        if not valid:
            raise RefusedError(at, "not a valid label or annotation key")
        if not slash or key in allowed or (hint_prefix and key.startswith(hint_prefix)):
            return
        raise RefusedError(
            at,
            "keys with a prefix are not allowed (controllers and agents read them);"
            " use a key without '/'" + (", or a simpipe.io/sim-* hint" if hint_prefix else ""),
        )

    return Custom(check)


def _metadata(labels: frozenset[str], annotations: frozenset[str]) -> dict[str, Rule]:
    return {
        "labels": Entries(_key(labels, None), Text()),
        "annotations": Entries(_key(annotations, SIMULATION_HINT_PREFIX), Text()),
    }


POD_METADATA = Fields(_metadata(frozenset(), frozenset()))
WORKFLOW_METADATA = Fields(
    {
        **_metadata(frozenset(), ARGO_DISPLAY_ANNOTATIONS),
        # Label values Argo computes from expressions; the keys are fixed.
        "labelsFrom": Entries(_key(frozenset(), None), Fields({"expression": Text()})),
    }
)


def _replaced_by_the_service(metadata: dict[str, Any], at: Path, walk: Walk) -> None:
    if not walk.fill:
        return
    for name in SERVER_FIELDS:
        metadata.pop(name, None)
    for key, owned in (("labels", SERVICE_LABELS), ("annotations", SERVICE_ANNOTATIONS)):
        if isinstance(metadata.get(key), dict):
            metadata[key] = {k: v for k, v in metadata[key].items() if k not in owned}


OBJECT_METADATA = Fields(
    {
        "name": Text(literal=True),
        "generateName": Text(literal=True),
        # Replaced by the service's namespace.
        "namespace": Text(),
        **_metadata(SERVICE_LABELS, ARGO_DISPLAY_ANNOTATIONS | SERVICE_ANNOTATIONS),
        **{name: Anything() for name in SERVER_FIELDS},
    },
    complete=_replaced_by_the_service,
)
