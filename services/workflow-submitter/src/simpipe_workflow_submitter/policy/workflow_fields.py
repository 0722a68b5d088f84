"""The fields of an Argo Workflow or WorkflowTemplate a user may write.

Template kinds: container, script, containerSet, steps, dag and suspend.
Refused: resource (creates any Kubernetes object), http (Argo's agent pod
makes the request with the workflow's account), data (reads artifact
locations the service does not choose), plugin.

Set by the service only: service accounts and their tokens, placement
(nodeSelector, affinity, tolerations, scheduler, priority class: typed
options of createDryRun), podSpecPatch, artifact repositories and artifact
locations other than an artifact key under the project's prefix. Refused:
host network, ports and aliases, DNS settings, PodDisruptionBudgets,
controller metrics, synchronization (locks shared across projects),
artifact garbage collection (its own pods and account), ClusterWorkflowTemplates.

Argo's placeholders (`{{inputs.parameters.x}}`) are fine in any text field
but names checked against the caller's scope (templates, ConfigMaps,
Secrets, claims): a placeholder there would be resolved after this check.
Argo substitutes parameter values as quoted JSON text, so a value cannot add
a field.
"""

from typing import Any

from simpipe_common.errors import InvalidInputError
from simpipe_common.validation import key as valid_key
from simpipe_workflow_submitter.policy.kube_fields import (
    CONTAINER,
    VOLUME,
    VOLUME_CLAIM_TEMPLATE,
    VOLUME_MOUNT,
    project_object,
)
from simpipe_workflow_submitter.policy.metadata import (
    OBJECT_METADATA,
    POD_METADATA,
    WORKFLOW_METADATA,
)
from simpipe_workflow_submitter.policy.pod_security import POD_SECURITY_CONTEXT, pod_defaults
from simpipe_workflow_submitter.policy.rules import (
    PLACEHOLDER,
    Anything,
    Choice,
    Custom,
    Entries,
    Fields,
    Flag,
    Integer,
    Items,
    Later,
    Path,
    Refuse,
    RefusedError,
    Scalar,
    Text,
    Walk,
    required,
)

MAX_INT32 = 2**31 - 1
# A retried step runs its pod again: a bound on how often.
MAX_RETRIES = 100

PLACEMENT = Refuse(
    "placement is not part of the document: choose it with createDryRun's placement,"
    " sandbox and nodeName options"
)
ACCOUNTS = Refuse("service accounts are set by SIM-PIPE")
HOST = Refuse("host networking, ports and names are not allowed")
POD_SPEC_PATCH = Refuse("pod spec patches are not allowed (they can set any pod field)")
ARTIFACT_LOCATION = (
    "artifact locations are chosen by SIM-PIPE: give an artifact no location, raw data,"
    " or an s3.key under the project's prefix (the key alone: no bucket, endpoint or credentials)"
)


def _template_ref_name(value: Any, at: Path, walk: Walk) -> None:
    Text(literal=True).check(value, at, walk)
    walk.template_refs.setdefault(value, at)


def _artifact_key(value: Any, at: Path, walk: Walk) -> None:
    Text().check(value, at, walk)
    prefix = walk.scope.artifact_key_prefix
    if not value.startswith(prefix):
        raise RefusedError(at, f"artifact keys must begin with the project's prefix {prefix}")
    if PLACEHOLDER not in value:
        try:
            valid_key(value, "artifact key")
        except InvalidInputError as error:
            raise RefusedError(at, error.message) from None


def _service_value(setting: str) -> Custom:
    """A field only the service sets: its own value, as written back, passes."""

    def check(value: Any, at: Path, walk: Walk) -> None:
        if value != getattr(walk.settings, setting):
            raise RefusedError(at, "service accounts are set by SIM-PIPE")

    return Custom(check)


def _deadline(value: Any, at: Path, walk: Walk) -> None:
    Integer(0, walk.settings.max_active_deadline_seconds).check(value, at, walk)


def _template_deadline(value: Any, at: Path, walk: Walk) -> None:
    # A placeholder is resolved when the step runs, past this check.
    Integer(0, walk.settings.max_active_deadline_seconds, text=True).check(value, at, walk)


def _count(value: Any, at: Path, walk: Walk) -> None:
    Integer(0, walk.settings.max_list_items, text=True).check(value, at, walk)


def _sequence(sequence: dict[str, Any], at: Path, walk: Walk) -> None:
    start, end = sequence.get("start", 0), sequence.get("end")
    if (
        isinstance(start, int)
        and isinstance(end, int)
        and abs(end - start) >= walk.settings.max_list_items
    ):
        raise RefusedError(at, f"makes more than {walk.settings.max_list_items} items")


_CONFIG_MAP_KEY = Fields({"name": project_object("ConfigMap"), "key": Text(), "optional": Flag()})
PARAMETER = Fields(
    {
        "name": Text(),
        "value": Scalar(),
        "default": Scalar(),
        "description": Text(),
        "enum": Items(Scalar()),
        "globalName": Text(),
        "valueFrom": Fields(
            {
                "path": Text(),
                "jsonPath": Text(),
                "jqFilter": Text(),
                "parameter": Text(),
                "default": Scalar(),
                "supplied": Fields({}),
                "event": Text(),
                "expression": Text(),
                "configMapKeyRef": _CONFIG_MAP_KEY,
            }
        ),
    }
)
ARTIFACT = Fields(
    {
        "name": Text(),
        "path": Text(),
        "from": Text(),
        "fromExpression": Text(),
        "mode": Integer(0, 0o777),
        "optional": Flag(),
        "subPath": Text(),
        "globalName": Text(),
        "archiveLogs": Flag(),
        "recurseMode": Flag(),
        "deleted": Flag(),
        "archive": Fields(
            {
                "none": Fields({}),
                "tar": Fields({"compressionLevel": Integer(-1, 9)}),
                "zip": Fields({}),
            }
        ),
        "raw": Fields({"data": Text()}),
        "s3": Fields({"key": Custom(_artifact_key)}, otherwise=ARTIFACT_LOCATION),
        **{
            location: Refuse(ARTIFACT_LOCATION)
            for location in ("artifactory", "azure", "gcs", "git", "hdfs", "http", "oss")
        },
        "artifactGC": Refuse(
            "artifact garbage collection is not allowed (it runs pods of its own)"
        ),
    }
)
ARGUMENTS = Fields({"parameters": Items(PARAMETER), "artifacts": Items(ARTIFACT)})
OUTPUTS = ARGUMENTS.with_fields({"result": Text(), "exitCode": Text()})
TEMPLATE_REF = Fields(
    {
        "name": Custom(_template_ref_name),
        "template": Text(),
        "clusterScope": Flag(only=False, why="ClusterWorkflowTemplates are shared by every user"),
    }
)
WORKFLOW_TEMPLATE_REF = Fields(
    {"name": Custom(_template_ref_name), "clusterScope": TEMPLATE_REF.fields["clusterScope"]}
)
HOOKS = Entries(
    Text(),
    Fields(
        {
            "template": Text(),
            "templateRef": TEMPLATE_REF,
            "arguments": ARGUMENTS,
            "expression": Text(),
        }
    ),
)
RETRY = Fields(
    {
        "limit": Integer(0, MAX_RETRIES, text=True),
        "retryPolicy": Choice("Always", "OnFailure", "OnError", "OnTransientError"),
        "backoff": Fields(
            {
                "duration": Integer(0, MAX_INT32, text=True),
                "factor": Integer(0, MAX_INT32, text=True),
                "maxDuration": Integer(0, MAX_INT32, text=True),
            }
        ),
        "expression": Text(),
        "affinity": Fields({"nodeAntiAffinity": Fields({})}),
    }
)

_TEMPLATE = Later()
STEP = Fields(
    {
        "name": Text(),
        "template": Text(),
        "inline": _TEMPLATE,
        "arguments": ARGUMENTS,
        "templateRef": TEMPLATE_REF,
        "withItems": Items(Anything()),
        "withParam": Text(),
        "withSequence": Fields(
            {
                "count": Custom(_count),
                "start": Integer(-MAX_INT32, MAX_INT32, text=True),
                "end": Integer(-MAX_INT32, MAX_INT32, text=True),
                "format": Text(),
            },
            complete=_sequence,
        ),
        "when": Text(),
        "continueOn": Fields({"error": Flag(), "failed": Flag()}),
        "onExit": Text(),
        "hooks": HOOKS,
    }
)
DAG_TASK = STEP.with_fields({"dependencies": Items(Text()), "depends": Text()})

SCRIPT = CONTAINER.with_fields({"source": Text()})
USER_CONTAINER = CONTAINER.with_fields({"mirrorVolumeMounts": Flag()})
CONTAINER_SET = Fields(
    {
        "containers": Items(CONTAINER.with_fields({"dependencies": Items(Text())})),
        "volumeMounts": Items(VOLUME_MOUNT),
        "retryStrategy": Fields(
            {"duration": Text(), "retries": Integer(0, MAX_RETRIES, text=True)}
        ),
    }
)

TEMPLATE = Fields(
    {
        "name": Text(),
        "inputs": ARGUMENTS,
        "outputs": OUTPUTS,
        "metadata": POD_METADATA,
        "daemon": Flag(),
        # Kinds.
        "container": CONTAINER,
        "script": SCRIPT,
        "containerSet": CONTAINER_SET,
        "steps": Items(Items(STEP)),
        "dag": Fields({"target": Text(), "failFast": Flag(), "tasks": Items(DAG_TASK)}),
        "suspend": Fields({"duration": Text()}),
        "resource": Refuse(
            "resource templates are not allowed (they create any Kubernetes object)"
        ),
        "http": Refuse(
            "HTTP templates are not allowed (Argo's agent sends them with the workflow's account)"
        ),
        "data": Refuse(
            "data templates are not allowed (they read artifact locations SIM-PIPE does not choose)"
        ),
        "plugin": Refuse("executor plugins are not allowed"),
        # The pod.
        "volumes": Items(VOLUME),
        "initContainers": Items(USER_CONTAINER),
        "sidecars": Items(USER_CONTAINER),
        "securityContext": POD_SECURITY_CONTEXT,
        "archiveLocation": Fields({"archiveLogs": Flag()}, otherwise=ARTIFACT_LOCATION),
        "activeDeadlineSeconds": Custom(_template_deadline),
        "retryStrategy": RETRY,
        "parallelism": Integer(0, MAX_INT32),
        "failFast": Flag(),
        "timeout": Text(),
        "memoize": Fields(
            {
                "key": Text(),
                "maxAge": Text(),
                # Argo's controller writes this ConfigMap.
                "cache": Fields({"configMap": _CONFIG_MAP_KEY}),
            }
        ),
        "nodeSelector": PLACEMENT,
        "affinity": PLACEMENT,
        "tolerations": PLACEMENT,
        "schedulerName": PLACEMENT,
        "priorityClassName": PLACEMENT,
        "priority": PLACEMENT,
        "serviceAccountName": ACCOUNTS,
        "automountServiceAccountToken": ACCOUNTS,
        "executor": ACCOUNTS,
        "hostAliases": HOST,
        "podSpecPatch": POD_SPEC_PATCH,
        "metrics": Refuse("custom controller metrics are not allowed"),
        "synchronization": Refuse(
            "synchronization is not allowed (locks are shared across projects)"
        ),
    }
)
_TEMPLATE.rule = TEMPLATE


def _spec_defaults(spec: dict[str, Any], at: Path, walk: Walk) -> None:
    settings = walk.settings
    required(spec, "serviceAccountName", settings.workflow_service_account, at, walk)
    required(spec, "automountServiceAccountToken", False, at, walk)
    required(spec, "executor", {"serviceAccountName": settings.executor_service_account}, at, walk)
    pod_defaults(spec, at, walk)


SPEC = Fields(
    {
        "templates": Items(TEMPLATE),
        "entrypoint": Text(),
        "arguments": ARGUMENTS,
        "onExit": Text(),
        "hooks": HOOKS,
        "templateDefaults": TEMPLATE,
        "workflowTemplateRef": WORKFLOW_TEMPLATE_REF,
        "suspend": Flag(),
        "shutdown": Choice("Terminate", "Stop"),
        "parallelism": Integer(0, MAX_INT32),
        "activeDeadlineSeconds": Custom(_deadline),
        "retryStrategy": RETRY,
        "ttlStrategy": Fields(
            {
                name: Integer(0, MAX_INT32)
                for name in ("secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure")
            }
        ),
        "podGC": Fields(
            {
                "strategy": Choice(
                    "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"
                ),
                "labelSelector": Fields(
                    {
                        "matchLabels": Entries(Text(), Text()),
                        "matchExpressions": Items(
                            Fields(
                                {
                                    "key": Text(),
                                    "operator": Choice("In", "NotIn", "Exists", "DoesNotExist"),
                                    "values": Items(Text()),
                                }
                            )
                        ),
                    }
                ),
                "deleteDelayDuration": Text(),
            }
        ),
        "volumeClaimGC": Fields({"strategy": Choice("OnWorkflowCompletion", "OnWorkflowSuccess")}),
        "archiveLogs": Flag(),
        "workflowMetadata": WORKFLOW_METADATA,
        "podMetadata": POD_METADATA,
        "volumes": Items(VOLUME),
        "volumeClaimTemplates": Items(VOLUME_CLAIM_TEMPLATE),
        "securityContext": POD_SECURITY_CONTEXT,
        "imagePullSecrets": Items(Fields({"name": project_object("Secret")})),
        "hostNetwork": Flag(only=False, why="host networking is not allowed"),
        "serviceAccountName": _service_value("workflow_service_account"),
        "automountServiceAccountToken": Flag(only=False, why="workflow pods get no API token"),
        "executor": Fields({"serviceAccountName": _service_value("executor_service_account")}),
        "nodeSelector": PLACEMENT,
        "affinity": PLACEMENT,
        "tolerations": PLACEMENT,
        "schedulerName": PLACEMENT,
        "podPriorityClassName": PLACEMENT,
        "podPriority": PLACEMENT,
        "priority": Refuse("workflow priority is not allowed (it queues other users' runs behind)"),
        "hostAliases": HOST,
        "dnsPolicy": Refuse("DNS settings are not allowed"),
        "dnsConfig": Refuse("DNS settings are not allowed"),
        "podSpecPatch": POD_SPEC_PATCH,
        "artifactRepositoryRef": Refuse("the artifact repository is chosen by SIM-PIPE"),
        "artifactGC": Refuse(
            "artifact garbage collection is not allowed (it runs pods of its own)"
        ),
        "podDisruptionBudget": Refuse("PodDisruptionBudgets are not allowed"),
        "metrics": Refuse("custom controller metrics are not allowed"),
        "synchronization": Refuse(
            "synchronization is not allowed (locks are shared across projects)"
        ),
    },
    complete=_spec_defaults,
)

DOCUMENT = Fields({"apiVersion": Text(), "kind": Text(), "metadata": OBJECT_METADATA, "spec": SPEC})
