import json

from simpipe_common.testing import service_process
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import schema


def test_serves_http_on_8080_and_no_grpc() -> None:
    settings = GatewaySettings()
    assert settings.http_port == 8080
    assert not hasattr(settings, "grpc_port")


def test_schema_keeps_the_simpipe_controller_names() -> None:
    result = schema.execute_sync("{ ping username }")
    assert result.errors is None
    assert result.data == {"ping": "pong", "username": None}


async def test_serves_graphql_and_health_then_stops_cleanly_on_sigterm() -> None:
    async with service_process("simpipe_gateway") as service:
        assert service.grpc_port is None
        health_status, health = await service.http_request("/health")
        graphql_status, graphql = await service.http_request(
            "/graphql", json_body={"query": "{ ping username }"}
        )
        metrics_status, metrics = await service.http_request("/metrics")
        exit_code = await service.terminate()

    assert (health_status, json.loads(health)["service"]) == (200, "gateway")
    assert (graphql_status, json.loads(graphql)) == (
        200,
        {"data": {"ping": "pong", "username": None}},
    )
    assert metrics_status == 200
    assert b'simpipe_service_info{service="gateway",version="0.1.0"} 1.0' in metrics
    assert exit_code == 0
    assert service.logs[-1]["event"] == "service stopped"
