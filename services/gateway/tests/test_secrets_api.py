"""SecretsApi against answers shaped as the Kubernetes API gives them
(httpx's MockTransport under lightkube's client)."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from lightkube import ApiError, Client, KubeConfig

from simpipe_gateway.access_tokens import LABEL_ACCESS_TOKEN
from simpipe_gateway.token_watch import SecretsApi, WatchExpiredError

NAMESPACE = "simpipe-system"


def api(
    answer: Callable[[httpx.Request], httpx.Response],
) -> tuple[SecretsApi, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = Client(
        KubeConfig.from_dict(
            {
                "clusters": [{"name": "c", "cluster": {"server": "https://apiserver.invalid"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        ),
        namespace=NAMESPACE,
        transport=httpx.MockTransport(handler),
    )
    return SecretsApi(lambda: client), seen


def secret(name: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE, "resourceVersion": version},
        "type": "Opaque",
        "data": {"digest": "ZGlnZXN0"},
    }


def status(code: int, reason: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": reason}  # fmt: skip


def test_the_list_is_the_labelled_secrets_as_json_with_the_lists_version() -> None:
    secrets, seen = api(
        lambda _: httpx.Response(
            200,
            json={
                "kind": "SecretList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "42"},
                "items": [secret("simpipe-access-token-a", "40")],
            },
        )
    )
    listed, version = secrets.list()
    assert version == "42"
    assert [s["metadata"]["name"] for s in listed] == ["simpipe-access-token-a"]
    assert listed[0]["data"] == {"digest": "ZGlnZXN0"}
    assert seen[0].url.path == f"/api/v1/namespaces/{NAMESPACE}/secrets"
    assert seen[0].url.params["labelSelector"] == f"{LABEL_ACCESS_TOKEN}=true"


def test_a_watch_from_a_version_gone_from_the_apiserver_is_expired() -> None:
    lines = [
        {"type": "ADDED", "object": secret("simpipe-access-token-a", "43")},
        {"type": "ERROR", "object": status(410, "Expired")},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n"
    secrets, seen = api(lambda _: httpx.Response(200, text=body))
    events = secrets.watch("42")
    kind, first = next(events)
    assert (kind, first["metadata"]["resourceVersion"]) == ("ADDED", "43")
    with pytest.raises(WatchExpiredError):
        next(events)
    assert seen[0].url.params["resourceVersion"] == "42"
    assert seen[0].url.params["watch"] == "true"


def test_deleting_a_secret_already_gone_is_done_and_other_failures_are_raised() -> None:
    gone, _ = api(lambda _: httpx.Response(404, json=status(404, "NotFound")))
    gone.delete("simpipe-access-token-a")
    refused, _ = api(lambda _: httpx.Response(403, json=status(403, "Forbidden")))
    with pytest.raises(ApiError):
        refused.delete("simpipe-access-token-a")


def test_a_created_secret_carries_its_type_labels_and_data() -> None:
    written: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        written.append(json.loads(request.content))
        return httpx.Response(201, json=secret("simpipe-access-token-a", "44"))

    secrets, seen = api(answer)
    secrets.create({
        "type": "simpipe.io/access-token",
        "metadata": {"name": "simpipe-access-token-a", "labels": {LABEL_ACCESS_TOKEN: "true"}},
        "data": {"digest": "ZGlnZXN0"},
    })  # fmt: skip
    assert seen[0].method == "POST"
    assert written[0]["type"] == "simpipe.io/access-token"
    assert written[0]["metadata"]["labels"] == {LABEL_ACCESS_TOKEN: "true"}
    assert written[0]["data"] == {"digest": "ZGlnZXN0"}
