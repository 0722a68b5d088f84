"""Node creations over the async HTTP client: the kubeconfig's credentials
on every request, the document as sent, and the apiserver's refusals typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from simpipe_common.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)
from simpipe_kwok_scaler.clusters.kube import Kube, NodeWriter

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "vc-1-lab-p-0"}}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://apiserver.invalid:6443",
                            "insecure-skip-tls-verify": True,
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "s3cr3t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def writer_answering(
    kubeconfig: Path, answer: httpx.Response | Exception
) -> tuple[NodeWriter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    writer = NodeWriter(Kube(kubeconfig, 1, 5.0), connections=2, timeout=5.0)
    # The client it would build, with the apiserver replaced.
    writer._client = httpx.AsyncClient(
        base_url=writer.kube.api_client().configuration.host,
        transport=httpx.MockTransport(handler),
    )
    return writer, seen


async def test_the_document_goes_with_the_kubeconfigs_credentials(kubeconfig: Path) -> None:
    writer, seen = writer_answering(kubeconfig, httpx.Response(201, json=NODE))
    await writer.create(NODE)
    (request,) = seen
    assert (request.method, str(request.url)) == (
        "POST",
        "https://apiserver.invalid:6443/api/v1/nodes",
    )
    assert request.headers["authorization"] == "Bearer s3cr3t"
    assert json.loads(request.content) == NODE
    await writer.aclose()


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(409, json={"message": "exists"}), ConflictError, "already exists"),
        (
            httpx.Response(422, json={"message": "bad quantity"}),
            InvalidInputError,
            "refused it: bad quantity",
        ),
        (httpx.Response(404, json={}), NotFoundError, "not found"),
        (httpx.Response(429, json={}), UnavailableError, "busy"),
        (httpx.Response(500, text="oops"), UnavailableError, "answered 500"),
        (httpx.ConnectError("refused"), UnavailableError, "does not answer"),
    ],
)
async def test_refusals_are_typed(
    kubeconfig: Path, answer: Any, error: type[ServiceError], message: str
) -> None:
    writer, _ = writer_answering(kubeconfig, answer)
    with pytest.raises(error, match=message):
        await writer.create(NODE)
    await writer.aclose()
