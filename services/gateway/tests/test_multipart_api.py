"""Multipart uploads through GraphQL: each call reaches the storage-broker
as the caller's, part numbers are checked before it, and the completed
file comes back as an Artifact."""

from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from simpipe.v1 import storage_broker_pb2 as pb
from simpipe_gateway.auth import Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.schema import build_schema

schema = build_schema(GatewaySettings())
UPLOAD = {"b": "uploads", "k": "big/data.bin", "u": "up-1"}


class Broker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def CreateMultipartUpload(self, request: Any, **_: Any) -> pb.MultipartUpload:  # noqa: N802
        self.calls.append(("create", request))
        return pb.MultipartUpload(bucket="uploads", key=request.key, upload_id="up-1")

    async def PresignUploadPart(self, request: Any, **_: Any) -> pb.PresignedUrl:  # noqa: N802
        self.calls.append(("presign", request))
        url = f"http://s3/{request.key}?partNumber={request.part_number}"
        return pb.PresignedUrl(url=url, method="PUT", expires_at=Timestamp(seconds=1_800_000_000))

    async def CompleteMultipartUpload(self, request: Any, **_: Any) -> pb.ObjectInfo:  # noqa: N802
        self.calls.append(("complete", request))
        return pb.ObjectInfo(bucket="uploads", key=request.key, size=12, download_url="http://d")

    async def AbortMultipartUpload(self, request: Any, **_: Any) -> pb.AbortMultipartUploadResponse:  # noqa: N802
        self.calls.append(("abort", request))
        return pb.AbortMultipartUploadResponse(aborted=True)


async def execute(query: str, broker: Broker, **variables: Any) -> Any:
    context = {"gateway": SimpleNamespace(storage=broker), "caller": Caller("alice")}
    return await schema.execute(query, context_value=context, variable_values=variables)


async def test_an_upload_goes_through_the_broker_as_the_callers() -> None:
    broker = Broker()
    created = await execute(
        'mutation { createMultipartUpload(key: "big/data.bin") { bucketName key uploadId } }',
        broker,
    )
    assert created.errors is None, created.errors
    assert created.data["createMultipartUpload"] == {
        "bucketName": "uploads", "key": "big/data.bin", "uploadId": "up-1"}  # fmt: skip
    urls = await execute(
        """mutation($b: String!, $k: String!, $u: String!) {
          uploadPartUrls(bucketName: $b, key: $k, uploadId: $u, partNumbers: [2, 1]) {
            partNumber url expiresAt } }""",
        broker,
        **UPLOAD,
    )
    assert urls.errors is None, urls.errors
    assert [(u["partNumber"], u["url"]) for u in urls.data["uploadPartUrls"]] == [
        (2, "http://s3/big/data.bin?partNumber=2"),
        (1, "http://s3/big/data.bin?partNumber=1"),
    ]
    assert urls.data["uploadPartUrls"][0]["expiresAt"] == "2027-01-15T08:00:00Z"
    done = await execute(
        """mutation($b: String!, $k: String!, $u: String!) {
          completeMultipartUpload(bucketName: $b, key: $k, uploadId: $u,
            parts: [{partNumber: 2, etag: "e2"}, {partNumber: 1, etag: "e1"}]) { key size url } }""",
        broker,
        **UPLOAD,
    )
    assert done.errors is None, done.errors
    assert done.data["completeMultipartUpload"] == {
        "key": "big/data.bin",
        "size": 12,
        "url": "http://d",
    }
    [complete] = [r for kind, r in broker.calls if kind == "complete"]
    # In part order, whatever order the client listed them in.
    assert [(p.part_number, p.etag) for p in complete.parts] == [(1, "e1"), (2, "e2")]
    aborted = await execute(
        """mutation($b: String!, $k: String!, $u: String!) {
          abortMultipartUpload(bucketName: $b, key: $k, uploadId: $u) }""",
        broker,
        **UPLOAD,
    )
    assert aborted.data == {"abortMultipartUpload": True}
    assert {r.caller for _, r in broker.calls} == {"alice"}


@pytest.mark.parametrize(
    ("numbers", "said"),
    [
        ("[]", "at least one part"),
        ("[0]", "0 is not"),
        ("[10001]", "10001 is not"),
        ("[3, 3]", "names a part twice"),
        (str(list(range(1, 1002))), "at most 1000"),
    ],
)
async def test_bad_part_numbers_never_reach_the_broker(numbers: str, said: str) -> None:
    broker = Broker()
    result = await execute(
        f"""mutation($b: String!, $k: String!, $u: String!) {{
          uploadPartUrls(bucketName: $b, key: $k, uploadId: $u, partNumbers: {numbers}) {{ url }} }}""",
        broker,
        **UPLOAD,
    )
    assert result.errors
    assert result.errors[0].extensions["code"] == "INPUT_VALIDATION_ERROR"
    assert said in result.errors[0].message
    assert broker.calls == []


async def test_a_completion_naming_a_part_twice_is_refused() -> None:
    broker = Broker()
    result = await execute(
        """mutation($b: String!, $k: String!, $u: String!) {
          completeMultipartUpload(bucketName: $b, key: $k, uploadId: $u,
            parts: [{partNumber: 1, etag: "a"}, {partNumber: 1, etag: "b"}]) { key } }""",
        broker,
        **UPLOAD,
    )
    assert result.errors[0].extensions["code"] == "INPUT_VALIDATION_ERROR"
    assert broker.calls == []
