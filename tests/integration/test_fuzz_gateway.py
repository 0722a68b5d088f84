"""Property-based fuzzing of the running gateway (Hypothesis): GraphQL
inputs, pipeline documents, object keys and PromQL label values, as a
hostile user sends them. Every answer is data or a typed refusal; a server
fault (INTERNAL_SERVER_ERROR, an HTTP 5xx) is counted separately, and the
count must stay zero.

Bounded: a fixed number of examples per property, on loopback only.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simpipe_devstack.example_pipeline import SimulatedStep, argo_service, simulated_pipeline
from simpipe_devstack.stack import Stack

# What a refusal may say; anything else is a fault.
TYPED = frozenset(
    {
        "INPUT_VALIDATION_ERROR", "NOT_FOUND_ERROR", "CONFLICT_ERROR", "FORBIDDEN",
        "UNAUTHENTICATED", "INVALID_ARGO_WORKFLOW_ERROR", "INVALID_ARGO_WORKFLOW_TEMPLATE_ERROR",
        "QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
    }
)  # fmt: skip
EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a hostile user would try: any unicode, path tricks, PromQL and subject
# metacharacters, very long strings.
NASTY = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "../../etc/passwd",
            "a/../../b",
            "*",
            ">",
            "simpipe.v1.>",
            '"} or up{job=~".+',
            "a\x00b",
            "\u202e",
            "x" * 5000,
            "UPPER",
            "-lead",
            "trail-",
        ]
    ),
)


class Outcomes:
    """Every answer's kind: 'data', a typed code, or a fault."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.faults: list[str] = []

    def record(self, status: int, body: str) -> None:
        if status >= 500:
            self.faults.append(f"HTTP {status}: {body[:300]}")
            return
        answer = json.loads(body)
        for error in answer.get("errors") or []:
            code = (error.get("extensions") or {}).get("code", "")
            self.counts[code] += 1
            if code not in TYPED:
                self.faults.append(f"{code or 'no code'}: {error.get('message', '')[:300]}")
        if not answer.get("errors"):
            self.counts["data"] += 1


@pytest.fixture(scope="module")
def outcomes() -> Iterator[Outcomes]:
    found = Outcomes()
    yield found
    print(f"\nfuzz outcomes: {dict(found.counts)}; server faults: {len(found.faults)}")


@pytest.fixture(scope="module")
def post(stack: Stack, endpoints: dict[str, str]) -> Iterator[Any]:
    token = stack.secrets.api_tokens["local-guest"]
    with httpx.Client(timeout=60) as http:

        def send(query: str, **variables: Any) -> tuple[int, str]:
            response = http.post(
                endpoints["graphql"],
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code, response.text

        yield send


def check(outcomes: Outcomes, answer: tuple[int, str]) -> None:
    before = len(outcomes.faults)
    outcomes.record(*answer)
    assert len(outcomes.faults) == before, outcomes.faults[-1]


@FUZZ
@given(name=NASTY, project_id=NASTY, run_id=NASTY, template=NASTY)
def test_graphql_inputs(
    post: Any, outcomes: Outcomes, name: str, project_id: str, run_id: str, template: str
) -> None:
    check(
        outcomes,
        post("mutation($n: String!) { renameProject(projectId: $n, name: $n) { id } }", n=name),
    )
    check(
        outcomes,
        post("query($p: String!) { project(projectId: $p) { id dryRuns { id } } }", p=project_id),
    )
    check(
        outcomes,
        post("query($r: String!) { dryRun(dryRunId: $r) { id status { phase } } }", r=run_id),
    )
    check(outcomes, post("query($t: String!) { workflowTemplate(name: $t) { name } }", t=template))
    check(outcomes, post("mutation($r: String!) { suspendDryRun(dryRunId: $r) { id } }", r=run_id))


@FUZZ
@given(key=NASTY, bucket=NASTY)
def test_object_keys(post: Any, outcomes: Outcomes, key: str, bucket: str) -> None:
    check(outcomes, post(
        "mutation($k: String!, $b: String) { computeUploadPresignedUrl(key: $k, bucketName: $b) }",
        k=key, b=bucket or None,
    ))  # fmt: skip
    check(outcomes, post(
        "query($b: String!, $k: String!) { artifact(bucketName: $b, key: $k) { etag size } }",
        b=bucket, k=key,
    ))  # fmt: skip
    check(outcomes, post(
        "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }",
        b=bucket, k=[key],
    ))  # fmt: skip


@FUZZ
@given(run_id=NASTY, node_id=NASTY, grep=NASTY, since=st.integers(-(2**40), 2**40))
def test_promql_label_values_and_log_reads(
    post: Any, outcomes: Outcomes, run_id: str, node_id: str, grep: str, since: int
) -> None:
    check(outcomes, post(
        "query($r: String!, $n: String!, $g: String, $s: Int) { dryRun(dryRunId: $r) {"
        " metricsSummary { run { cpuSeconds } } node(id: $n) { id ... on DryRunNodePod {"
        " log(grep: $g, sinceSeconds: $s, maxLines: 5) } } } }",
        r=run_id, n=node_id, g=grep, s=since,
    ))  # fmt: skip


def _pipeline() -> dict[str, Any]:
    steps = (SimulatedStep("one", seconds=1, cpu_millicores=10, memory_mib=8),)
    built: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    return built


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
    | NASTY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY, inner, max_size=4),
    max_leaves=20,
)
# Fields a hostile document would reach for, and anything else.
FIELDS = st.one_of(
    st.sampled_from(
        [
            "privileged", "hostPath", "hostNetwork", "serviceAccountName", "podSpecPatch",
            "volumes", "securityContext", "nodeSelector", "templateRef", "artifactRepositoryRef",
            "labels", "annotations", "runAsUser", "secretKeyRef", "s3", "resource",
        ]
    ),
    NASTY,
)  # fmt: skip


def _containers(document: Any) -> list[dict[str, Any]]:
    """Every mapping inside the document: where a field may be inserted."""
    found: list[dict[str, Any]] = []
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


@FUZZ
@given(data=st.data(), field=FIELDS, value=JSON)
def test_pipeline_documents(
    post: Any, outcomes: Outcomes, data: st.DataObject, field: str, value: Any
) -> None:
    document = copy.deepcopy(_pipeline())
    place = data.draw(st.sampled_from(_containers(document)))
    place[field] = value
    # Suspended: an accepted document stays in the cluster without running.
    document.setdefault("spec", {})["suspend"] = True
    status, body = post(
        "mutation($i: CreateDryRunInput!) { createDryRun(input: $i) { id } }",
        i={"placement": "VIRTUAL_NODES", "argoWorkflow": document},
    )
    check(outcomes, (status, body))
    created = (json.loads(body).get("data") or {}).get("createDryRun")
    if created:
        post("mutation($r: String!) { deleteDryRun(dryRunId: $r) }", r=created["id"])


@FUZZ
@given(
    cluster=NASTY,
    simulation=NASTY,
    name=NASTY,
    count=st.integers(-(2**31), 2**31 - 1),
    number=st.floats(allow_nan=False, allow_infinity=False),
)
def test_virtual_cluster_and_simulation_inputs(
    post: Any,
    outcomes: Outcomes,
    cluster: str,
    simulation: str,
    name: str,
    count: int,
    number: float,
) -> None:
    """Reads, resizes, deletes and starts on clusters and simulations the
    caller does not have: nothing is made, every answer is typed."""
    check(outcomes, post("query($c: String!) { virtualCluster(id: $c) { id } }", c=cluster))
    check(outcomes, post(
        "mutation($c: String!, $p: String!, $n: Int!) {"
        " resizeVirtualCluster(id: $c, counts: [{pool: $p, count: $n}]) { id } }",
        c=cluster, p=name, n=count,
    ))  # fmt: skip
    check(outcomes, post("mutation($c: String!) { deleteVirtualCluster(id: $c) }", c=cluster))
    check(outcomes, post(
        "query($s: String!) { simulation(id: $s) { id } simulationReport(id: $s) { phase }"
        " compareSimulations(a: $s, referenceDryRunId: $s) { a } }",
        s=simulation,
    ))  # fmt: skip
    check(outcomes, post(
        "mutation($i: StartSimulationInput!) { startSimulation(input: $i) { id } }",
        i={
            "simulationId": simulation, "projectId": name, "workflowTemplateName": name,
            "virtualClusterId": cluster, "pool": name, "copies": count, "timeScale": number,
            "timing": {"explicit": [{"step": name, "seconds": number}], "durationFactor": number},
        },
    ))  # fmt: skip
    check(outcomes, post("mutation($s: String!) { cancelSimulation(id: $s) { id } }", s=simulation))
    check(outcomes, post("mutation($s: String!) { deleteSimulation(id: $s) }", s=simulation))


def test_no_server_fault_was_seen(outcomes: Outcomes) -> None:
    """Runs after the properties (file order): the faults of all of them."""
    assert sum(outcomes.counts.values()) > 0, "no example ran"
    assert outcomes.faults == []


def test_fuzzing_leaves_the_gateway_answering(post: Any) -> None:
    status, body = post("{ ping }")
    assert (status, json.loads(body)) == (200, {"data": {"ping": "pong"}})
