"""The Kubernetes parts of a document: containers, their environment,
probes and resources, and volumes.

Volumes: emptyDir, and the project's own ConfigMaps, Secrets and
PersistentVolumeClaims (scope.py's naming); no hostPath, nfs, csi, projected
tokens or any other kind. A volume mount names a volume the document
declares, never one Argo adds to its pods (e.g. the executor's token).
"""

import re
from typing import Any

from simpipe_workflow_submitter.policy.pod_security import (
    CONTAINER_SECURITY_CONTEXT,
    container_defaults,
)
from simpipe_workflow_submitter.policy.rules import (
    Choice,
    Custom,
    Entries,
    Fields,
    Flag,
    Integer,
    Items,
    Path,
    Quantity,
    Refuse,
    RefusedError,
    Rule,
    Text,
    Walk,
)

MAX_PORT = 65535
MAX_SECONDS = 2**31 - 1
# File modes without setuid, setgid or sticky bits.
MAX_MODE = 0o777
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def project_object(kind: str) -> Rule:
    """The name of one of the project's own ConfigMaps, Secrets or PVCs."""

    def check(value: Any, at: Path, walk: Walk) -> None:
        Text(literal=True).check(value, at, walk)
        prefix = walk.scope.object_prefix
        if prefix is None:
            raise RefusedError(at, f"a dry run outside a project may not use {kind}s")
        if not value.startswith(prefix) or value == prefix:
            raise RefusedError(at, f"only the project's own {kind}s are allowed: {prefix}<name>")

    return Custom(check)


def _declared_volume(value: Any, at: Path, walk: Walk) -> None:
    Text(literal=True, pattern=_DNS_LABEL, shape="a DNS label").check(value, at, walk)
    walk.volumes.add(value)


def _mounted_volume(value: Any, at: Path, walk: Walk) -> None:
    Text(literal=True).check(value, at, walk)
    walk.mounts.append((value, at))


VOLUME_NAME = Custom(_declared_volume)

_HOST = Refuse("probes and hooks may not name another host")
_PORT = Integer(1, MAX_PORT, text=True)
_HTTP_GET = Fields(
    {
        "path": Text(),
        "port": _PORT,
        "scheme": Choice("HTTP", "HTTPS"),
        "httpHeaders": Items(Fields({"name": Text(), "value": Text()})),
        "host": _HOST,
    }
)
_EXEC = Fields({"command": Items(Text())})
_TCP_SOCKET = Fields({"port": _PORT, "host": _HOST})
_SECONDS = Integer(0, MAX_SECONDS)
PROBE = Fields(
    {
        "exec": _EXEC,
        "httpGet": _HTTP_GET,
        "tcpSocket": _TCP_SOCKET,
        "grpc": Fields({"port": Integer(1, MAX_PORT), "service": Text()}),
        "initialDelaySeconds": _SECONDS,
        "periodSeconds": _SECONDS,
        "timeoutSeconds": _SECONDS,
        "successThreshold": _SECONDS,
        "failureThreshold": _SECONDS,
        "terminationGracePeriodSeconds": _SECONDS,
    }
)
_HANDLER = Fields(
    {
        "exec": _EXEC,
        "httpGet": _HTTP_GET,
        "tcpSocket": _TCP_SOCKET,
        "sleep": Fields({"seconds": _SECONDS}),
    }
)
LIFECYCLE = Fields({"postStart": _HANDLER, "preStop": _HANDLER, "stopSignal": Text()})

_KEY_REF = {"key": Text(), "optional": Flag()}
ENV_VAR = Fields(
    {
        "name": Text(),
        "value": Text(),
        "valueFrom": Fields(
            {
                "secretKeyRef": Fields({"name": project_object("Secret"), **_KEY_REF}),
                "configMapKeyRef": Fields({"name": project_object("ConfigMap"), **_KEY_REF}),
                "fieldRef": Fields({"fieldPath": Text(), "apiVersion": Text()}),
                "resourceFieldRef": Fields(
                    {"containerName": Text(), "resource": Text(), "divisor": Quantity()}
                ),
            }
        ),
    }
)
ENV_FROM = Fields(
    {
        "prefix": Text(),
        "configMapRef": Fields({"name": project_object("ConfigMap"), "optional": Flag()}),
        "secretRef": Fields({"name": project_object("Secret"), "optional": Flag()}),
    }
)

# Compute resources; extended ones (devices) and dynamic resource claims are
# not something a dry run asks for.
_RESOURCE_LIST = Entries(Choice("cpu", "memory", "ephemeral-storage"), Quantity())
RESOURCES = Fields({"limits": _RESOURCE_LIST, "requests": _RESOURCE_LIST})

VOLUME_MOUNT = Fields(
    {
        "name": Custom(_mounted_volume),
        "mountPath": Text(),
        "subPath": Text(),
        "subPathExpr": Text(),
        "readOnly": Flag(),
        "recursiveReadOnly": Choice("Disabled", "IfPossible", "Enabled"),
        # Propagation to or from the host needs more than a restricted pod.
        "mountPropagation": Choice("None"),
    }
)

_PORTS = Fields(
    {
        "containerPort": Integer(1, MAX_PORT),
        "protocol": Choice("TCP", "UDP", "SCTP"),
        "name": Text(),
        "hostPort": Refuse("host ports are not allowed"),
        "hostIP": Refuse("host ports are not allowed"),
    }
)

CONTAINER = Fields(
    {
        "name": Text(),
        "image": Text(),
        "command": Items(Text()),
        "args": Items(Text()),
        "workingDir": Text(),
        "env": Items(ENV_VAR),
        "envFrom": Items(ENV_FROM),
        "resources": RESOURCES,
        "volumeMounts": Items(VOLUME_MOUNT),
        "imagePullPolicy": Choice("Always", "IfNotPresent", "Never"),
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "ports": Items(_PORTS),
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "startupProbe": PROBE,
        "lifecycle": LIFECYCLE,
        "terminationMessagePath": Text(),
        "terminationMessagePolicy": Choice("File", "FallbackToLogsOnError"),
        "tty": Flag(),
        "stdin": Flag(),
        "stdinOnce": Flag(),
        "resizePolicy": Items(
            Fields(
                {
                    "resourceName": Choice("cpu", "memory"),
                    "restartPolicy": Choice("NotRequired", "RestartContainer"),
                }
            )
        ),
        # An init container that keeps running: a native sidecar.
        "restartPolicy": Choice("Always"),
    },
    complete=container_defaults,
)

_KEY_TO_PATH = Fields({"key": Text(), "path": Text(), "mode": Integer(0, MAX_MODE)})
_SOURCES = ("emptyDir", "configMap", "secret", "persistentVolumeClaim")


def _one_source(volume: dict[str, Any], at: Path, walk: Walk) -> None:
    if sum(source in volume for source in _SOURCES) != 1:
        raise RefusedError(at, "a volume needs exactly one of " + ", ".join(_SOURCES))


VOLUME = Fields(
    {
        "name": VOLUME_NAME,
        "emptyDir": Fields({"medium": Choice("", "Memory"), "sizeLimit": Quantity()}),
        "configMap": Fields(
            {
                "name": project_object("ConfigMap"),
                "items": Items(_KEY_TO_PATH),
                "defaultMode": Integer(0, MAX_MODE),
                "optional": Flag(),
            }
        ),
        "secret": Fields(
            {
                "secretName": project_object("Secret"),
                "items": Items(_KEY_TO_PATH),
                "defaultMode": Integer(0, MAX_MODE),
                "optional": Flag(),
            }
        ),
        "persistentVolumeClaim": Fields(
            {"claimName": project_object("PersistentVolumeClaim"), "readOnly": Flag()}
        ),
    },
    otherwise="only emptyDir, configMap, secret and persistentVolumeClaim volumes are allowed",
    complete=_one_source,
)

# Claims Argo makes for the workflow and deletes after it: a size and access
# modes. No storage class, volume name, selector or data source: those pick
# or copy someone else's volume.
VOLUME_CLAIM_TEMPLATE = Fields(
    {
        "metadata": Fields({"name": VOLUME_NAME}),
        "spec": Fields(
            {
                "accessModes": Items(
                    Choice("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
                ),
                "resources": Fields(
                    {
                        "requests": Entries(Choice("storage"), Quantity()),
                        "limits": Entries(Choice("storage"), Quantity()),
                    }
                ),
                "volumeMode": Choice("Filesystem"),
            }
        ),
    }
)


def check_mounts(walk: Walk) -> None:
    """Every mount names a volume the document declares."""
    for name, at in walk.mounts:
        if name not in walk.volumes:
            raise RefusedError(at, f"mounts no volume this document declares ({name!r})")
