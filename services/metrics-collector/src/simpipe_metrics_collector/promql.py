"""The PromQL the collector sends, built in one place: a run's metrics are
read for all its steps at once (their pods in one regex, the metrics in
another), never one query per step.

Every label value is first checked to be what it claims (a Kubernetes name)
and refused otherwise, then escaped anyway: a value reaches the query only as
the content of a string literal (and of a regex, for the pod alternation), so
no input can change a query's shape. Metric names come from the catalog,
never from a request.
"""

import json
import re
from collections.abc import Sequence

from simpipe_common import validation
from simpipe_common.errors import InvalidInputError
from simpipe_metrics_collector.catalog import Metric

# Namespaces are DNS-1123 labels (validation.dns_label); pod names are DNS-1123
# subdomains (Argo's pod names are labels too, but Kubernetes allows dots).
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
# RE2's metacharacters (Prometheus matches regexes with Go's RE2, anchored).
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")
# The main container of an Argo step (its `wait` sidecar idles).
MAIN_CONTAINER = "main"
MAX_WINDOW_SECONDS = 24 * 3600


def _checked(kind: str, pattern: re.Pattern[str], value: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidInputError(f"{kind} {value[:80]!r} is not a valid Kubernetes name")
    return value


def string_literal(value: str) -> str:
    """A double-quoted PromQL string holding exactly `value`. JSON's escapes
    (\\", \\\\, \\n, \\uXXXX for control characters) are a subset of
    PromQL's (Go's), so a quote, backslash or newline cannot end it."""
    return json.dumps(value, ensure_ascii=False)


def regex_literal(value: str) -> str:
    """A regex that matches exactly `value` (RE2 metacharacters escaped)."""
    return _REGEX_META.sub(r"\\\1", value)


def pod_alternation(pods: Sequence[str]) -> str:
    """`a|b|c` for a regex matcher; the pods must be valid pod names."""
    if not pods:
        raise InvalidInputError("no pods to query: a step without a pod has no metrics")
    checked = [_checked("pod name", _DNS_SUBDOMAIN, pod) for pod in dict.fromkeys(pods)]
    return "|".join(regex_literal(pod) for pod in checked)


def selector(metrics: Sequence[Metric], namespace: str, pods: Sequence[str]) -> str:
    """The metrics' series of `pods` in `namespace`: the step container's,
    unless the metrics belong to the pod (all of them, or none)."""
    if not metrics or len({m.pod_level for m in metrics}) != 1:
        raise ValueError("select container-level and pod-level metrics apart")
    names = "|".join(regex_literal(m.series) for m in dict.fromkeys(metrics))
    matchers = [
        f"__name__=~{string_literal(names)}",
        f"namespace={string_literal(validation.dns_label('namespace', namespace))}",
        f"pod=~{string_literal(pod_alternation(pods))}",
    ]
    if not metrics[0].pod_level:
        matchers.append(f"container={string_literal(MAIN_CONTAINER)}")
    return f"{{{','.join(matchers)}}}"


def series_queries(metrics: Sequence[Metric], namespace: str, pods: Sequence[str]) -> list[str]:
    """The metrics' raw series for every pod of a run: one query for the
    container-level metrics, one for the pod-level ones (never one per step
    or per metric). grouping.per_pod makes them one series per pod."""
    groups = [[m for m in metrics if m.pod_level == level] for level in (False, True)]
    return [selector(group, namespace, pods) for group in groups if group]


def rate_query(metric: Metric, namespace: str, pods: Sequence[str], window_seconds: int) -> str:
    """Per-second rate of a counter's series; rate() handles counter resets
    and uses the samples' own timestamps, so scrape jitter does not skew it."""
    if not 0 < window_seconds <= MAX_WINDOW_SECONDS:
        raise InvalidInputError(f"rate window {window_seconds}s is out of range")
    return f"rate({selector([metric], namespace, pods)}[{window_seconds}s])"
