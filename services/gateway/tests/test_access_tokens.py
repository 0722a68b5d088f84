"""Access tokens: hashed at rest, created, listed and revoked by their owner
only, refused once revoked or expired, followed by every replica through a
list-then-watch (here against a fake apiserver), and an open subscription of
a revoked token ends."""

import asyncio
import base64
import json
import queue
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLError

from simpipe.v1 import events_pb2
from simpipe_common.errors import NotFoundError
from simpipe_gateway.access_tokens import (
    LABEL_ACCESS_TOKEN,
    AccessToken,
    AccessTokenStore,
    token_digest,
)
from simpipe_gateway.auth import Authenticator, Caller
from simpipe_gateway.config import GatewaySettings
from simpipe_gateway.run_feed import RunEvent
from simpipe_gateway.schema import build_schema
from simpipe_gateway.subscription_guard import while_authorized
from simpipe_gateway.token_watch import Secret, TokenWatch, WatchExpiredError

BOOTSTRAP = {"bootstrap-token-alice-01": "alice", "bootstrap-token-bob-0001": "bob"}
schema = build_schema(GatewaySettings())


class Apiserver:
    """Secrets as the apiserver would keep them: what was written, plus the
    watch events a test feeds."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.events: queue.Queue[tuple[str, Secret] | Exception | None] = queue.Queue()
        self.lists = 0
        self.watched_from: list[str] = []
        self.version = 1

    # SecretWriter
    def create(self, secret: dict[str, Any]) -> None:
        self.version += 1
        stored = {
            **secret,
            "metadata": {**secret["metadata"], "resourceVersion": str(self.version)},
        }
        self.secrets[secret["metadata"]["name"]] = stored

    def delete(self, name: str) -> None:
        self.secrets.pop(name, None)

    # SecretSource
    def list(self) -> tuple[list[Secret], str]:
        self.lists += 1
        return list(self.secrets.values()), str(self.version)

    def watch(self, resource_version: str) -> Iterator[tuple[str, Secret]]:
        self.watched_from.append(resource_version)
        while True:
            item = self.events.get()
            if item is None:
                return  # the server ends the request
            if isinstance(item, Exception):
                raise item
            yield item


def new_store(
    apiserver: Apiserver, now: datetime | None = None, listed: bool = True
) -> AccessTokenStore:
    """A replica's store; `listed`: as after its watch's first list."""
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    store = AccessTokenStore(apiserver, max_days=365, default_days=90, max_per_user=3, now=clock)
    if listed:
        store.replace_all(apiserver.secrets.values())
    return store


def context(store: AccessTokenStore, authorization: str) -> dict[str, Any]:
    authenticator = Authenticator(
        api_tokens=dict(BOOTSTRAP), jwks=None, issuer="", audience="",
        user_claim="", dev_user=None, store=store,
    )  # fmt: skip
    gateway = SimpleNamespace(authenticator=authenticator)
    return {
        "gateway": gateway,
        "request": SimpleNamespace(headers={"authorization": authorization}),
    }


async def ask(store: AccessTokenStore, token: str, query: str, **variables: Any) -> Any:
    result = await schema.execute(
        query, variable_values=variables, context_value=context(store, f"Bearer {token}")
    )
    if result.errors:
        return [(e.extensions or {}).get("code") for e in result.errors]
    return result.data


CREATE = """mutation($name: String!, $days: Int) { createAccessToken(name: $name, expiresInDays: $days)
  { token accessToken { id name createdAt expiresAt } } }"""
LIST = "{ accessTokens { id name } username }"
REVOKE = "mutation($id: String!) { revokeAccessToken(id: $id) }"


async def test_a_token_is_kept_as_its_digest_only() -> None:
    apiserver = Apiserver()
    store = new_store(apiserver)
    created = (await ask(store, "bootstrap-token-alice-01", CREATE, name="ci"))["createAccessToken"]
    token = created["token"]
    assert token.startswith("spat_")
    assert len(token) > 40
    (secret,) = apiserver.secrets.values()
    assert secret["metadata"]["labels"] == {LABEL_ACCESS_TOKEN: "true"}
    assert token not in json.dumps(secret)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert token not in json.dumps(data)
    assert data["sha256"] == token_digest(token)
    assert (data["owner"], data["name"]) == ("alice", "ci")
    expires = datetime.fromisoformat(created["accessToken"]["expiresAt"])
    created_at = datetime.fromisoformat(created["accessToken"]["createdAt"])
    assert expires - created_at == timedelta(days=90)


async def test_create_use_list_and_revoke_only_ones_own() -> None:
    store = new_store(Apiserver())
    made = await ask(store, "bootstrap-token-alice-01", CREATE, name="ci", days=7)
    token, token_id = (
        made["createAccessToken"]["token"],
        made["createAccessToken"]["accessToken"]["id"],
    )
    # The token acts as alice.
    assert await ask(store, token, LIST) == {
        "accessTokens": [{"id": token_id, "name": "ci"}],
        "username": "alice",
    }
    # Bob sees none of alice's tokens and cannot revoke them.
    assert await ask(store, "bootstrap-token-bob-0001", LIST) == {
        "accessTokens": [],
        "username": "bob",
    }
    assert await ask(store, "bootstrap-token-bob-0001", REVOKE, id=token_id) == ["NOT_FOUND_ERROR"]
    assert await ask(store, token, LIST) != ["UNAUTHENTICATED"]
    # A token cannot make tokens of its own (it would outlive its revocation).
    assert await ask(store, token, CREATE, name="more") == ["FORBIDDEN"]
    assert await ask(store, "bootstrap-token-alice-01", REVOKE, id=token_id) == {
        "revokeAccessToken": True
    }
    assert await ask(store, token, LIST) == ["UNAUTHENTICATED"]
    assert await ask(store, "bootstrap-token-alice-01", LIST) == {
        "accessTokens": [],
        "username": "alice",
    }


@pytest.mark.parametrize(
    ("name", "days"), [("", None), ("x" * 65, None), ("ci", 0), ("ci", 366), ("bad\nname", None)]
)
async def test_names_and_lifetimes_are_bounded(name: str, days: int | None) -> None:
    store = new_store(Apiserver())
    assert await ask(store, "bootstrap-token-alice-01", CREATE, name=name, days=days) == [
        "INPUT_VALIDATION_ERROR"
    ]


async def test_a_user_holds_a_bounded_number_of_tokens() -> None:
    store = new_store(Apiserver())
    for i in range(3):
        assert "createAccessToken" in await ask(
            store, "bootstrap-token-alice-01", CREATE, name=f"t{i}"
        )
    assert await ask(store, "bootstrap-token-alice-01", CREATE, name="t3") == [
        "INPUT_VALIDATION_ERROR"
    ]


async def test_an_expired_token_is_refused() -> None:
    apiserver = Apiserver()
    token, _ = await new_store(apiserver).create("alice", "ci", 1)
    later = new_store(apiserver, now=datetime.now(UTC) + timedelta(days=1, seconds=1))
    assert later.find(token) is None
    assert await ask(later, token, LIST) == ["UNAUTHENTICATED"]


async def test_the_original_api_tokens_query_keeps_its_shape() -> None:
    store = new_store(Apiserver())
    query = "{ apiTokens { mooseApiKey { hasValue maskedPreview } openrouterApiKey { hasValue } } }"
    assert await ask(store, "bootstrap-token-alice-01", query) == {
        "apiTokens": {
            "mooseApiKey": {"hasValue": False, "maskedPreview": None},
            "openrouterApiKey": {"hasValue": False},
        }
    }
    update = 'mutation { updateApiTokens(mooseApiKey: "k") { mooseApiKey { hasValue } } }'
    assert await ask(store, "bootstrap-token-alice-01", update) == ["INPUT_VALIDATION_ERROR"]


async def wait_until(condition: Any, seconds: float = 10) -> None:
    """Polls `condition`: what it reads is set by another thread's watch."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_every_replica_follows_the_secrets_through_its_watch() -> None:
    apiserver = Apiserver()
    writer = new_store(apiserver)  # the replica that creates and revokes
    early, _ = await writer.create("alice", "before", None)
    replica = new_store(apiserver, listed=False)
    assert await ask(replica, early, LIST) == ["SERVICE_UNAVAILABLE"]  # not listed yet
    watch = TokenWatch(apiserver, replica, asyncio.get_running_loop(), first_backoff=0.01)
    watch.start()
    try:
        await wait_until(replica.synced.is_set)
        assert replica.find(early) is not None  # from the list
        late, record = await writer.create("alice", "after", None)
        apiserver.events.put(("ADDED", apiserver.secrets[record.secret_name]))
        await wait_until(lambda: replica.find(late) is not None)
        # The server ends the watch: it resumes from the last version it saw.
        apiserver.events.put(None)
        await wait_until(lambda: len(apiserver.watched_from) == 2)
        assert (
            apiserver.watched_from[1]
            == apiserver.secrets[record.secret_name]["metadata"]["resourceVersion"]
        )
        # Revoked on the writer: the replica drops it when its watch sees the deletion.
        gone = apiserver.secrets[record.secret_name]
        await writer.revoke("alice", record.id)
        apiserver.events.put(("DELETED", gone))
        await wait_until(lambda: replica.find(late) is None)
        # 410 Gone: the watch lists again, and what was deleted meanwhile goes.
        await writer.revoke("alice", writer.of_owner("alice")[0].id)
        apiserver.events.put(WatchExpiredError("too old resource version"))
        await wait_until(lambda: apiserver.lists == 2)
        await wait_until(lambda: replica.find(early) is None)
        # Any other failure: it keeps trying.
        apiserver.events.put(RuntimeError("boom"))
        await wait_until(lambda: len(apiserver.watched_from) == 4)
    finally:
        watch.stop()
        apiserver.events.put(None)


def event(owner: str) -> RunEvent:
    return RunEvent(events_pb2.DryRunPhaseChanged(owner=owner, dry_run_id="r"))


async def alices_subscription(
    store: AccessTokenStore,
) -> tuple[AccessToken, asyncio.Queue[RunEvent], AsyncIterator[RunEvent]]:
    """A subscription with a token of alice's: the token's record, the queue
    its events come from, and what the subscriber reads."""
    token, record = await store.create("alice", "ci", None)
    feed: asyncio.Queue[RunEvent] = asyncio.Queue()

    async def events() -> AsyncGenerator[RunEvent, None]:
        while True:
            yield await feed.get()

    info = SimpleNamespace(context=context(store, f"Bearer {token}"))
    return record, feed, while_authorized(info, events())  # type: ignore[arg-type]


async def test_a_subscription_of_a_revoked_token_ends_even_when_idle() -> None:
    store = new_store(Apiserver())
    record, feed, stream = await alices_subscription(store)
    feed.put_nowait(event("someone-else"))  # never shown to alice
    feed.put_nowait(event("alice"))
    assert (await anext(stream)).payload.owner == "alice"
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # (no event comes: it waits for one)
    await store.revoke("alice", record.id)
    with pytest.raises(GraphQLError, match="revoked or has expired") as ended:
        await asyncio.wait_for(waiting, 10)
    assert (ended.value.extensions or {}).get("code") == "UNAUTHENTICATED"


async def test_a_token_revoked_while_its_subscriber_sends_ends_it_before_the_next_event() -> None:
    store = new_store(Apiserver())
    record, feed, stream = await alices_subscription(store)
    feed.put_nowait(event("alice"))
    assert (await anext(stream)).payload.owner == "alice"
    # Revoked while the reader is not waiting (it holds the event it got),
    # with the next event already there: that event is not shown.
    await store.revoke("alice", record.id)
    feed.put_nowait(event("alice"))
    with pytest.raises(GraphQLError, match="revoked or has expired"):
        await asyncio.wait_for(anext(stream), 10)


async def test_a_subscription_its_client_ends_is_cancelled_not_refused() -> None:
    store = new_store(Apiserver())
    token, _ = await store.create("alice", "ci", None)

    async def events() -> AsyncGenerator[RunEvent, None]:
        await asyncio.Event().wait()
        yield event("alice")

    info = SimpleNamespace(context=context(store, f"Bearer {token}"))
    waiting = asyncio.ensure_future(anext(while_authorized(info, events())))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # (it waits for an event)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_subscription_ends_when_its_credential_expires() -> None:
    authenticator = Authenticator(
        api_tokens={}, jwks=None, issuer="", audience="", user_claim="", dev_user=None
    )
    info = SimpleNamespace(context={"gateway": SimpleNamespace(authenticator=authenticator)})
    info.context["caller"] = Caller("oidc:alice", expires_at=time.time() + 0.3)

    async def events() -> AsyncGenerator[RunEvent, None]:
        await asyncio.Event().wait()
        yield event("oidc:alice")

    with pytest.raises(GraphQLError, match="revoked or has expired") as ended:
        await asyncio.wait_for(anext(while_authorized(info, events())), 10)  # type: ignore[arg-type]
    assert (ended.value.extensions or {}).get("code") == "UNAUTHENTICATED"


def test_revoking_what_is_not_there_is_not_found() -> None:
    store = new_store(Apiserver())
    with pytest.raises(NotFoundError):
        asyncio.run(store.revoke("alice", "nope"))
