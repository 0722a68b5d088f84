"""A large file uploaded in parts through GraphQL on the real stack (the
web GUI's way): parts PUT straight to S3 at presigned URLs, the file
completed from their ETags and read back byte for byte; an upload can be
aborted; another user cannot complete someone's upload."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest

from simpipe_client import AsyncSimpipe, GraphQLError
from simpipe_devstack.stack import Stack

MIB = 1024 * 1024
CREATE = """mutation($k: String!) { createMultipartUpload(key: $k) { bucketName key uploadId } }"""
URLS = """mutation($b: String!, $k: String!, $u: String!, $n: [Int!]!) {
  uploadPartUrls(bucketName: $b, key: $k, uploadId: $u, partNumbers: $n) { partNumber url } }"""
COMPLETE = """mutation($b: String!, $k: String!, $u: String!, $p: [CompletedPartInput!]!) {
  completeMultipartUpload(bucketName: $b, key: $k, uploadId: $u, parts: $p) { key size url } }"""
LIST = "query($p: String) { artifacts(prefix: $p) { key url } }"
ABORT = """mutation($b: String!, $k: String!, $u: String!) {
  abortMultipartUpload(bucketName: $b, key: $k, uploadId: $u) }"""


async def started(gql: AsyncSimpipe, key: str) -> dict[str, str]:
    upload: dict[str, str] = (await gql.graphql(CREATE, k=key))["createMultipartUpload"]
    return {"b": upload["bucketName"], "k": upload["key"], "u": upload["uploadId"]}


async def downloaded(gql: AsyncSimpipe, http: httpx.AsyncClient, key: str) -> bytes:
    """The file at `key` of the caller's uploads, through its listed download URL."""
    listed = (await gql.graphql(LIST, p=key))["artifacts"]
    [found] = [a for a in listed if a["key"] == key]
    return (await http.get(found["url"])).content


async def test_a_file_in_parts_is_stored_whole(stack: Stack, dev: AsyncSimpipe) -> None:
    data = random.Random(7).randbytes(5 * MIB + MIB + 7)
    parts = [data[: 5 * MIB], data[5 * MIB :]]
    key = f"multipart/{uuid.uuid4().hex}.bin"
    upload = await started(dev, key)
    assert upload["k"] == key
    urls = (await dev.graphql(URLS, n=[2, 1], **upload))["uploadPartUrls"]
    by_number = {u["partNumber"]: u["url"] for u in urls}
    gui = f"http://127.0.0.1:{stack.layout.ports['gui']}"
    etags = []
    async with httpx.AsyncClient(timeout=60) as http:
        for number, part in enumerate(parts, start=1):
            put = await http.put(by_number[number], content=part, headers={"Origin": gui})
            assert put.status_code == 200
            # A page reads the ETag only if S3 exposes it to its origin.
            assert "etag" in put.headers.get("access-control-expose-headers", "").lower()
            etags.append({"partNumber": number, "etag": put.headers["etag"]})
        done = (await dev.graphql(COMPLETE, p=etags[::-1], **upload))["completeMultipartUpload"]
        assert (done["key"], done["size"]) == (key, len(data))
        assert await downloaded(dev, http, key) == data


async def test_an_aborted_upload_cannot_be_completed(dev: AsyncSimpipe) -> None:
    upload = await started(dev, f"multipart/{uuid.uuid4().hex}.bin")
    assert (await dev.graphql(ABORT, **upload))["abortMultipartUpload"] is True
    with pytest.raises(GraphQLError) as refused:
        await dev.graphql(COMPLETE, p=[{"partNumber": 1, "etag": "x"}], **upload)
    assert refused.value.codes == ["NOT_FOUND_ERROR"]


async def test_another_user_cannot_complete_or_abort_it(
    dev: AsyncSimpipe, guest: AsyncSimpipe
) -> None:
    key = f"multipart/{uuid.uuid4().hex}.bin"
    upload = await started(dev, key)
    with pytest.raises(GraphQLError) as refused:
        await guest.graphql(COMPLETE, p=[{"partNumber": 1, "etag": "x"}], **upload)
    assert refused.value.codes == ["NOT_FOUND_ERROR"]
    # The guest's abort names the same key in the guest's own part of the
    # bucket: S3 answers it, and the owner's upload is untouched.
    await guest.graphql(ABORT, **upload)
    data = b"still mine"
    [url] = (await dev.graphql(URLS, n=[1], **upload))["uploadPartUrls"]
    async with httpx.AsyncClient(timeout=60) as http:
        put = await http.put(url["url"], content=data)
        assert put.status_code == 200
        part = [{"partNumber": 1, "etag": put.headers["etag"]}]
        done = (await dev.graphql(COMPLETE, p=part, **upload))["completeMultipartUpload"]
        assert done["size"] == len(data)
        assert await downloaded(dev, http, key) == data
