"""Security contexts, held to Pod Security's `restricted` level: non-root,
no privilege escalation, every capability dropped (NET_BIND_SERVICE the only
one that may be added back), seccomp RuntimeDefault or Localhost.

The service sets these where a document leaves them out, on the pod (every
pod-level context: Argo uses a template's own instead of the workflow's, not
both) and on every container; a value that contradicts them is refused.
"""

from typing import Any

from simpipe_workflow_submitter.policy.rules import (
    Choice,
    Fields,
    Flag,
    Integer,
    Items,
    Path,
    Refuse,
    RefusedError,
    Text,
    Walk,
    ensure,
    required,
)

MAX_ID = 2**31 - 1
ALL = "ALL"
# The one capability `restricted` lets a container add.
ADDABLE_CAPABILITIES = ("NET_BIND_SERVICE",)

_PROFILE = Fields(
    {"type": Choice("RuntimeDefault", "Localhost"), "localhostProfile": Text(literal=True)},
)
_NO_SELINUX = Refuse("SELinux options are not allowed (restricted Pod Security)")
_NO_WINDOWS = Refuse("Windows options are not allowed (restricted Pod Security)")
_IDENTITY = {
    "runAsNonRoot": Flag(only=True, why="pods run as a non-root user"),
    # 0 is root.
    "runAsUser": Integer(1, MAX_ID),
    "runAsGroup": Integer(0, MAX_ID),
    "seccompProfile": _PROFILE,
    "appArmorProfile": _PROFILE,
    "seLinuxOptions": _NO_SELINUX,
    "windowsOptions": _NO_WINDOWS,
}


def _pod_defaults(context: dict[str, Any], at: Path, walk: Walk) -> None:
    uid = walk.settings.workflow_run_as_user
    required(context, "runAsNonRoot", True, at, walk)
    required(context, "seccompProfile", {"type": "RuntimeDefault"}, at, walk)
    if "runAsUser" not in context and walk.fill:
        # Group and fsGroup with it, so that every container of the pod can
        # write its emptyDir volumes.
        context["runAsUser"] = uid
        context.setdefault("runAsGroup", uid)
        context.setdefault("fsGroup", uid)
    required(context, "runAsUser", uid, at, walk)


POD_SECURITY_CONTEXT = Fields(
    {
        **_IDENTITY,
        "fsGroup": Integer(0, MAX_ID),
        "fsGroupChangePolicy": Choice("OnRootMismatch", "Always"),
        "supplementalGroups": Items(Integer(0, MAX_ID)),
        "supplementalGroupsPolicy": Choice("Merge", "Strict"),
        "sysctls": Refuse("sysctls are not allowed"),
        "seLinuxChangePolicy": _NO_SELINUX,
    },
    complete=_pod_defaults,
)


def pod_defaults(spec: dict[str, Any], at: Path, walk: Walk) -> None:
    """The pod-level context of a spec (or template) that has none yet."""
    ensure(spec, "securityContext", POD_SECURITY_CONTEXT, at, walk)


def _drops_all(capabilities: dict[str, Any], at: Path, walk: Walk) -> None:
    required(capabilities, "drop", [ALL], at, walk)
    if ALL not in capabilities["drop"]:
        raise RefusedError((*at, "drop"), f"must include {ALL} (restricted Pod Security)")


_CAPABILITIES = Fields(
    {"drop": Items(Text()), "add": Items(Choice(*ADDABLE_CAPABILITIES))}, complete=_drops_all
)


def _container_defaults(context: dict[str, Any], at: Path, walk: Walk) -> None:
    required(context, "allowPrivilegeEscalation", False, at, walk)
    ensure(context, "capabilities", _CAPABILITIES, at, walk)


CONTAINER_SECURITY_CONTEXT = Fields(
    {
        **_IDENTITY,
        "privileged": Flag(only=False, why="privileged containers are not allowed"),
        "allowPrivilegeEscalation": Flag(only=False, why="restricted Pod Security"),
        "capabilities": _CAPABILITIES,
        "readOnlyRootFilesystem": Flag(),
        "procMount": Choice("Default"),
    },
    complete=_container_defaults,
)


def container_defaults(container: dict[str, Any], at: Path, walk: Walk) -> None:
    ensure(container, "securityContext", CONTAINER_SECURITY_CONTEXT, at, walk)
