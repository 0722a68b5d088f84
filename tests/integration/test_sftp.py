"""SFTPGo on the real stack: the uploads bucket over SFTP and WebDAV.

A file put through SFTPGo is an artifact of the GraphQL API and the other
way round, bytes checked end to end: SFTP with paramiko, WebDAV and
presigned URLs with httpx.
"""

from __future__ import annotations

import asyncio
import base64
import io
import random
import uuid
from collections.abc import AsyncIterator

import httpx
import paramiko
import pytest

from simpipe_client import AsyncSimpipe
from simpipe_devstack.components.minio import UPLOADS_BUCKET
from simpipe_devstack.stack import Stack

UPLOAD_URL = (
    "mutation($k: String, $b: String) { computeUploadPresignedUrl(key: $k, bucketName: $b) }"
)
LIST = "query($b: String) { artifacts(bucketName: $b) { key url size } }"
DELETE = "mutation($b: String!, $k: [String!]!) { deleteArtifacts(bucketName: $b, keys: $k) }"


def sftp_client(stack: Stack, password: str) -> paramiko.SSHClient:
    """An SSH client that trusts only the host keys SFTPGo generated in the
    state directory (a stranger on the port is refused)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    host = f"[127.0.0.1]:{stack.layout.ports['sftpgo_sftp']}"
    for pub in sorted((stack.layout.data / "sftpgo").glob("id_*.pub")):
        kind, blob = pub.read_text().split()[:2]
        client.get_host_keys().add(
            host, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
        )
    client.connect(
        "127.0.0.1",
        port=stack.layout.ports["sftpgo_sftp"],
        username=stack.secrets.sftpgo["user"],
        password=password,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def sftp_put(stack: Stack, key: str, data: bytes) -> None:
    with sftp_client(stack, stack.secrets.sftpgo["password"]) as client:
        sftp = client.open_sftp()
        sftp.putfo(io.BytesIO(data), key, file_size=len(data))
        sftp.close()


def sftp_get(stack: Stack, key: str) -> bytes:
    with sftp_client(stack, stack.secrets.sftpgo["password"]) as client:
        sftp = client.open_sftp()
        out = io.BytesIO()
        sftp.getfo(key, out)
        sftp.close()
        return out.getvalue()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        yield client


@pytest.fixture
async def key(dev: AsyncSimpipe) -> AsyncIterator[str]:
    """A fresh key at the bucket's top level, deleted after the test."""
    name = f"sftp-test-{uuid.uuid4().hex[:12]}.bin"
    yield name
    await dev.graphql(DELETE, b=UPLOADS_BUCKET, k=[name])


def payload(seed: int) -> bytes:
    # Over one S3 part and not a round size, so chunking shows.
    return random.Random(seed).randbytes(5 * 1024 * 1024 + 7)


async def listed(dev: AsyncSimpipe, key: str) -> dict[str, object]:
    (artifact,) = [
        a for a in (await dev.graphql(LIST, b=UPLOADS_BUCKET))["artifacts"] if a["key"] == key
    ]
    found: dict[str, object] = artifact
    return found


async def test_sftp_put_is_an_artifact(
    stack: Stack, dev: AsyncSimpipe, http: httpx.AsyncClient, key: str
) -> None:
    data = payload(1)
    await asyncio.to_thread(sftp_put, stack, key, data)
    artifact = await listed(dev, key)
    assert artifact["size"] == len(data)
    assert (await http.get(str(artifact["url"]))).content == data


async def test_graphql_upload_reads_back_over_sftp(
    stack: Stack, dev: AsyncSimpipe, http: httpx.AsyncClient, key: str
) -> None:
    data = payload(2)
    url = (await dev.graphql(UPLOAD_URL, k=key, b=UPLOADS_BUCKET))["computeUploadPresignedUrl"]
    assert (await http.put(url, content=data)).status_code == 200
    assert await asyncio.to_thread(sftp_get, stack, key) == data


async def test_webdav_both_ways(
    stack: Stack,
    endpoints: dict[str, str],
    dev: AsyncSimpipe,
    http: httpx.AsyncClient,
    key: str,
) -> None:
    creds = stack.secrets.sftpgo
    auth = (creds["user"], creds["password"])
    data = payload(3)
    put = await http.put(f"{endpoints['webdav']}/{key}", content=data, auth=auth)
    assert put.status_code in (201, 204), put.text
    artifact = await listed(dev, key)
    assert artifact["size"] == len(data)
    assert (await http.get(str(artifact["url"]))).content == data

    other = payload(4)
    url = (await dev.graphql(UPLOAD_URL, k=key, b=UPLOADS_BUCKET))["computeUploadPresignedUrl"]
    assert (await http.put(url, content=other)).status_code == 200
    got = await http.get(f"{endpoints['webdav']}/{key}", auth=auth)
    assert got.status_code == 200
    assert got.content == other


async def test_wrong_password_is_refused(
    stack: Stack, endpoints: dict[str, str], http: httpx.AsyncClient
) -> None:
    wrong = stack.secrets.sftpgo["password"] + "x"
    with pytest.raises(paramiko.AuthenticationException):
        await asyncio.to_thread(sftp_client, stack, wrong)
    refused = await http.get(f"{endpoints['webdav']}/", auth=(stack.secrets.sftpgo["user"], wrong))
    assert refused.status_code == 401
