import json

from simpipe_common.event_broker import EventBroker
from simpipe_common.testing import UNREACHABLE_ENV, service_process
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_feed import RunFeed
from simpipe_gateway.schema import build_schema

TOKEN = "test-token-0123456789abcdef"

# Names of the original SIM-PIPE controller API that existing GUIs and scripts use.
ORIGINAL_NAMES = {
    "Query": [
        "username", "ping", "projects", "project", "dryRun", "workflowTemplate", "buckets",
        "artifacts", "artifact", "apiTokens", "getAggregatedNodesMetrics",
        "fetchCarbontrackerData", "resources", "getMooseAnalysis", "k3sClusterSecret",
    ],
    "Mutation": [
        "createProject", "renameProject", "deleteProject", "createWorkflowTemplate",
        "updateWorkflowTemplate", "deleteWorkflowTemplate", "createDryRun", "suspendDryRun",
        "resumeDryRun", "retryDryRun", "resubmitDryRun", "stopDryRun", "deleteDryRun",
        "assignDryRunToProject", "computeUploadPresignedUrl", "createBucket", "deleteBucket",
        "deleteArtifacts", "updateApiTokens", "getAggregatedNodesMetrics", "createResource",
        "deleteResource", "cleanupStaleResource", "shutdownResource", "setMooseReport",
        "updateK3sClusterSecret",
    ],
    "Bucket": ["name"],
    "Artifact": ["name", "key", "url", "size", "bucketName", "mooseReport", "sotwReportUrl"],
    "ArtifactMetadata": ["etag", "lastModified", "metaData", "size"],
    "Project": ["id", "name", "createdAt", "dryRuns", "workflowTemplates"],
    "DryRun": [
        "id", "createdAt", "argoWorkflow", "status", "project", "nodes", "node", "nodeName",
    ],
    "CarbonTrackerData": [
        "duration", "cpuModel", "cpuPowerData", "averagePowerUsage", "averagePowerUsageUnit",
        "energyUsage", "energyUsageUnit", "location", "carbonIntensity", "carbonIntensityUnit",
        "energy", "energyUnit", "co2eq", "co2eqUnit",
    ],
    "Resource": ["id", "name", "os", "cpus", "memory", "status"],
    "DryRunStatus": ["phase", "startedAt", "finishedAt", "progress", "message", "estimatedDuration"],
    "DryRunNodePod": [
        "id", "type", "name", "displayName", "templateName", "phase", "startedAt", "finishedAt",
        "duration", "progress", "children", "exitCode", "resourcesDuration", "podName", "log",
    ],
    "DryRunNodeMisc": ["id", "type", "phase", "children"],
    "WorkflowTemplate": ["name", "project", "argoWorkflowTemplate"],
    "ApiTokens": ["mooseApiKey", "openrouterApiKey"],
    "ApiTokenState": ["hasValue", "maskedPreview"],
}  # fmt: skip


def test_serves_http_on_8080_and_no_grpc() -> None:
    settings = GatewaySettings()
    assert settings.http_port == 8080
    assert not hasattr(settings, "grpc_port")


async def test_schema_is_a_superset_of_the_original_api() -> None:
    schema = build_schema(GatewaySettings(introspection=True))
    result = await schema.execute("{ __schema { types { name fields { name args { name } } } } }")
    assert result.errors is None
    assert result.data is not None
    fields = {
        t["name"]: {f["name"]: [a["name"] for a in f["args"]] for f in t["fields"] or []}
        for t in result.data["__schema"]["types"]
    }
    for type_name, names in ORIGINAL_NAMES.items():
        missing = set(names) - set(fields[type_name])
        assert not missing, (type_name, missing)
    assert fields["Mutation"]["stopDryRun"] == ["dryRunId", "terminate"]
    assert fields["Mutation"]["createDryRun"] == ["input"]
    assert fields["DryRunNodePod"]["log"] == ["maxLines", "grep", "sinceSeconds", "sinceTime"]
    assert fields["Query"]["artifact"] == ["bucketName", "key"]
    assert fields["Mutation"]["computeUploadPresignedUrl"] == ["key", "bucketName"]
    assert fields["Mutation"]["deleteArtifacts"] == ["bucketName", "keys"]
    assert fields["Mutation"]["updateApiTokens"] == ["mooseApiKey", "openrouterApiKey"]
    assert fields["Query"]["fetchCarbontrackerData"] == ["input"]
    assert fields["Query"]["getMooseAnalysis"] == ["artifactUrl", "stepStartedAt", "save"]
    assert fields["Mutation"]["getAggregatedNodesMetrics"] == ["dryRunIds", "aggregateMethod"]


async def test_ping_is_public_but_the_caller_needs_a_valid_token() -> None:
    env = {**UNREACHABLE_ENV, "SIMPIPE_API_TOKENS": f"{TOKEN}=alice"}
    async with service_process("simpipe_gateway", env=env) as service:
        _, anonymous = await service.http_request(
            "/graphql", json_body={"query": "{ ping username }"}
        )
        _, wrong = await service.http_request(
            "/graphql",
            json_body={"query": "{ username }"},
            headers={"Authorization": "Bearer not-the-token-0000000"},
        )
        _, known = await service.http_request(
            "/graphql",
            json_body={"query": "{ ping username }"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        health_status, health = await service.http_request("/health")
        metrics_status, metrics = await service.http_request("/metrics")
        exit_code = await service.terminate()

    body = json.loads(anonymous)
    assert body["data"] is None  # username is non-null: the whole query fails
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert json.loads(wrong)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert json.loads(known) == {"data": {"ping": "pong", "username": "alice"}}
    assert (health_status, json.loads(health)["service"]) == (200, "gateway")
    assert metrics_status == 200
    assert b'simpipe_service_info{service="gateway",version="0.1.0"} 1.0' in metrics
    assert exit_code == 0
    assert service.logs[-1]["event"] == "service stopped"


async def test_oversized_request_bodies_are_refused_before_reading() -> None:
    env = {
        **UNREACHABLE_ENV,
        "SIMPIPE_API_TOKENS": f"{TOKEN}=alice",
        "SIMPIPE_MAX_QUERY_BYTES": "1000",
    }
    async with service_process("simpipe_gateway", env=env) as service:
        big = {"query": "{ ping }", "variables": {"pad": "x" * 2000}}
        status, body = await service.http_request("/graphql", json_body=big)
        small_status, small = await service.http_request(
            "/graphql", json_body={"query": "{ ping }"}
        )
        await service.terminate()
    assert status == 413
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "INPUT_VALIDATION_ERROR"
    assert (small_status, json.loads(small)) == (200, {"data": {"ping": "pong"}})


class CountingTrim:
    def __init__(self) -> None:
        self.requests = 0

    def request(self) -> None:
        self.requests += 1


async def test_each_http_query_asks_for_a_heap_trim_after_it() -> None:
    import httpx

    from simpipe_gateway.app import GraphQLApp

    settings = GatewaySettings(api_tokens=f"{TOKEN}=alice", mesh_insecure=True)
    app = GraphQLApp(settings, RunFeed(EventBroker(settings, "gateway")))
    trim = CountingTrim()
    app.trim = trim  # type: ignore[assignment]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for _ in range(2):
            response = await client.post("/graphql", json={"query": "{ ping }"})
            assert response.json() == {"data": {"ping": "pong"}}
    assert trim.requests == 2


def test_responses_are_json_text_as_the_stdlib_would_read_them() -> None:
    from simpipe_gateway.app import GraphQLApp

    settings = GatewaySettings(api_tokens=f"{TOKEN}=alice", mesh_insecure=True)
    app = GraphQLApp(settings, RunFeed(EventBroker(settings, "gateway")))
    data = {
        "data": {"dryRun": {"id": "ünï-1", "nodes": [{"duration": 3, "ratio": 0.25}], "x": None}},
        "errors": [{"message": "bad", "path": ["dryRun", 0], "extensions": {"code": "E"}}],
    }
    encoded = app.encode_json(data)
    # Text, never bytes: a websocket message has to be a text frame.
    assert isinstance(encoded, str)
    assert json.loads(encoded) == data
    # No bare NaN (which is not JSON): a not-a-number becomes null.
    assert json.loads(app.encode_json({"v": float("nan")})) == {"v": None}


async def test_a_post_without_content_length_is_refused_in_json() -> None:
    from simpipe_gateway.app import GraphQLApp

    settings = GatewaySettings(api_tokens=f"{TOKEN}=alice", mesh_insecure=True)
    app = GraphQLApp(settings, RunFeed(EventBroker(settings, "gateway")))
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body must not be read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": []}
    await app(scope, receive, send)  # type: ignore[arg-type]
    start, body = sent
    assert start["status"] == 411
    headers = dict(start["headers"])  # type: ignore[call-overload]
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body["body"])  # type: ignore[arg-type]
    assert json.loads(body["body"]) == {  # type: ignore[arg-type]
        "data": None,
        "errors": [
            {
                "message": "send the request with a Content-Length",
                "extensions": {"code": "INPUT_VALIDATION_ERROR"},
            }
        ],
    }
