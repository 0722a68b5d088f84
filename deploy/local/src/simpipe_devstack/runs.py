"""Follow a workflow through the Argo server's API and read its steps'
measurements from Prometheus: what the demo prints and the smoke test checks.
And follow a dry run through the gateway's GraphQL API, as the tests do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from kubernetes import client, config

from simpipe_client import subscriptions
from simpipe_common.argo_nodes import workflow_nodes
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_events import contract

if TYPE_CHECKING:
    from simpipe_client import AsyncSimpipe

# Argo's names for them, as its API and the GraphQL API spell them.
TERMINAL_PHASES = frozenset(contract.run_phase_name(p) for p in contract.TERMINAL_RUN_PHASES)


async def finished_dry_run(
    gql: AsyncSimpipe, query: str, dry_run_id: str, seconds: float, interval: float = 2.0
) -> dict[str, Any]:
    """Polls `query` (taking `$id`, selecting `dryRun { status { phase } }`)
    through `gql` every `interval` seconds until the dry run has ended;
    its `dryRun`. TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            run: dict[str, Any] = (await gql.graphql(query, id=dry_run_id))["dryRun"]
            if run["status"]["phase"] in TERMINAL_PHASES:
                return run
            await asyncio.sleep(interval)


async def gateway_stream(
    gql: AsyncSimpipe, query: str, **variables: Any
) -> AsyncIterator[dict[str, Any]]:
    """Each `next` payload's data of one subscription on one connection, until
    it completes; a dropped connection is GatewayUnavailableError, not a
    reconnect (whose replay a test of the gateway's own stream must not see)."""
    async for data in subscriptions.subscribe(
        gql.ws_url, gql.token, query, None, variables, reconnect_seconds=0
    ):
        yield data


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds between two of Kubernetes' or Argo's timestamps; None if one is missing."""
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass(frozen=True)
class StepStatus:
    node_id: str
    name: str
    phase: str
    started_at: str | None
    finished_at: str | None
    exit_code: str | None
    message: str

    @property
    def duration(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> StepStatus:
        return cls(
            node_id=node["id"],
            name=node.get("displayName", node["name"]),
            phase=node.get("phase", "Pending"),
            started_at=node.get("startedAt"),
            finished_at=node.get("finishedAt"),
            exit_code=(node.get("outputs") or {}).get("exitCode"),
            message=node.get("message", ""),
        )


def pod_steps(workflow: dict[str, Any]) -> list[StepStatus]:
    """The workflow's Pod nodes (its steps), in start order."""
    nodes = workflow_nodes(workflow.get("status"))
    steps = [StepStatus.from_node(n) for n in nodes.values() if n.get("type") == "Pod"]
    return sorted(steps, key=lambda s: (s.started_at or "~", s.name))


def pods_by_node_id(kubeconfig: str, workflow_name: str) -> dict[str, str]:
    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    pods = api.list_namespaced_pod(
        WORKFLOW_NAMESPACE, label_selector=f"workflows.argoproj.io/workflow={workflow_name}"
    )
    found: dict[str, str] = {}
    for pod in pods.items:
        meta = pod.metadata
        if meta and meta.name:
            found[(meta.annotations or {}).get("workflows.argoproj.io/node-id", "")] = meta.name
    return found


@dataclass(frozen=True)
class FinishedRun:
    """A Workflow as it ended, with its pods by node id looked up right then:
    Argo deletes a finished run's pods after a delay (its podGC default)."""

    workflow: dict[str, Any]
    pods: dict[str, str]

    @classmethod
    def of(cls, kubeconfig: str, workflow: dict[str, Any]) -> FinishedRun:
        return cls(workflow, pods_by_node_id(kubeconfig, str(workflow["metadata"]["name"])))


def argo_token(endpoints: Mapping[str, str]) -> str:
    """The local tools' token for the Argo server, which authenticates every
    caller (`--auth-mode=client`; cluster_policy), from `make up`'s endpoints."""
    return Path(endpoints["argo_token_file"]).read_text().strip()


class ArgoApi:
    def __init__(
        self, base_url: str, token: str | None = None, namespace: str = WORKFLOW_NAMESPACE
    ) -> None:
        """`token`: a Kubernetes token the Argo server accepts (it runs with
        `--auth-mode=client`), e.g. the stack's `argo_token_file`'s."""
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.http = httpx.Client(base_url=self.base_url, timeout=10.0, headers=headers)

    def workflow(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/workflows/{self.namespace}/{name}")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def archived(self, uid: str) -> dict[str, Any] | None:
        response = self.http.get(f"/api/v1/archived-workflows/{uid}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def follow(
        self,
        name: str,
        timeout: float,
        on_change: Callable[[StepStatus], None] = lambda _: None,
        interval: float = 0.5,
    ) -> dict[str, Any]:
        """Poll until the workflow ends; report each step phase change once."""
        seen: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            workflow = self.workflow(name)
            for step in pod_steps(workflow):
                if seen.get(step.node_id) != step.phase:
                    seen[step.node_id] = step.phase
                    on_change(step)
            if workflow.get("status", {}).get("phase") in TERMINAL_PHASES:
                return workflow
            if time.monotonic() > deadline:
                raise TimeoutError(f"workflow {name} still running after {timeout:.0f}s")
            time.sleep(interval)


class PrometheusApi:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=10.0)

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = self.http.get("/api/v1/query", params={"query": promql})
        response.raise_for_status()
        body = response.json()
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar_by_pod(self, promql: str) -> dict[str, float]:
        return {r["metric"]["pod"]: float(r["value"][1]) for r in self.query(promql)}

    def wait_for_scrapes(self, job: str, after: float, seconds: float = 30.0) -> None:
        """Until every target of `job` has been scraped after the Unix time
        `after` (so what a step did before then is in), or AssertionError."""
        deadline = time.monotonic() + seconds
        query = f'min(timestamp(up{{job="{job}"}}))'
        while not ((found := self.query(query)) and float(found[0]["value"][1]) >= after):
            assert time.monotonic() < deadline, f"no scrape of {job} after {after} in {seconds} s"
            time.sleep(0.2)


def step_measurements(
    prometheus: PrometheusApi, pod_names: list[str], window_s: int
) -> dict[str, dict[str, float]]:
    """Peak CPU (cores), peak memory (MiB) and CPU time (s) of each pod's
    `main` container over the last `window_s` seconds. One query per
    measure for all pods."""
    # Pod names are Kubernetes names (DNS labels): safe inside a regex.
    selector = f'namespace="{WORKFLOW_NAMESPACE}",container="main",pod=~"{"|".join(pod_names)}"'
    window = f"{window_s}s"
    cpu_peak = prometheus.scalar_by_pod(
        f"max by (pod) (max_over_time(rate(container_cpu_usage_seconds_total{{{selector}}}[3s])[{window}:1s]))"
    )
    mem_peak = prometheus.scalar_by_pod(
        f"max by (pod) (max_over_time(container_memory_working_set_bytes{{{selector}}}[{window}]))"
    )
    cpu_time = prometheus.scalar_by_pod(
        f"max by (pod) (max_over_time(container_cpu_usage_seconds_total{{{selector}}}[{window}]))"
    )
    return {
        pod: {
            "cpu_peak_cores": cpu_peak.get(pod, 0.0),
            "memory_peak_mib": mem_peak.get(pod, 0.0) / 2**20,
            "cpu_seconds": cpu_time.get(pod, 0.0),
        }
        for pod in pod_names
    }
