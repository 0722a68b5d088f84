"""How files are cut into parts, and what a subscription resumes."""

from __future__ import annotations

import pytest

from simpipe_client.errors import GatewayUnavailableError, NotFoundError
from simpipe_client.subscriptions import Resumption, SubscriptionEnded, data_of, parsed, ws_url
from simpipe_client.transfers import MIB, Part, parts_of, url_of


def test_parts_cover_the_file_once_in_order() -> None:
    parts = parts_of(40 * MIB + 3, 16 * MIB)
    assert parts == [
        Part(1, 0, 16 * MIB),
        Part(2, 16 * MIB, 16 * MIB),
        Part(3, 32 * MIB, 8 * MIB + 3),
    ]
    assert sum(p.length for p in parts) == 40 * MIB + 3


def test_a_file_too_large_for_s3s_part_count_gets_larger_parts() -> None:
    size = 200 * 1024 * MIB  # 200 GiB: 12,800 parts of 16 MiB
    parts = parts_of(size, 16 * MIB)
    assert len(parts) <= 10_000
    assert sum(p.length for p in parts) == size
    assert parts[-1].offset + parts[-1].length == size


def test_an_empty_file_is_one_empty_part_and_small_parts_are_refused() -> None:
    assert parts_of(0, 16 * MIB) == [Part(1, 0, 0)]
    with pytest.raises(ValueError, match="at least"):
        parts_of(10, 1 * MIB)


def test_a_resumed_subscription_skips_only_the_replay_of_what_it_delivered() -> None:
    resumption = Resumption(reconnect_seconds=60)
    resumption.connected()
    running, suspended = {"u": {"phase": "Running"}}, {"u": {"phase": "Suspended"}}
    # Live, a payload that repeats is a real repeat (Running again after a resume).
    assert [resumption.fresh(p) for p in (running, suspended, running)] == [True, True, True]
    resumption.connected()
    # The replay of those three, then what is new: only the new is delivered.
    done = {"u": {"phase": "Succeeded"}}
    replayed = [running, suspended, running, done, done]
    assert [resumption.fresh(p) for p in replayed] == [False, False, False, True, True]


def test_a_replay_in_another_order_is_still_skipped() -> None:
    resumption = Resumption(reconnect_seconds=60)
    resumption.connected()
    assert resumption.fresh({"n": 1})
    assert resumption.fresh({"n": 2})
    resumption.connected()
    assert not resumption.fresh({"n": 2})
    assert resumption.fresh({"n": 3})
    assert not resumption.fresh({"n": 1})
    assert resumption.fresh({"n": 1})


def test_reconnecting_gives_up_after_its_window() -> None:
    assert Resumption(reconnect_seconds=60).pause_after(OSError("refused"), "ws://gw") > 0
    with pytest.raises(GatewayUnavailableError, match="ws://gw"):
        Resumption(reconnect_seconds=0).pause_after(OSError("refused"), "ws://gw")


def test_a_file_is_found_by_its_exact_key() -> None:
    class File:
        def __init__(self, key: str, url: str | None) -> None:
            self.key, self.url = key, url

    listed = [File("a/b.txt.bak", "u1"), File("a/b.txt", "u2")]
    assert url_of(listed, "a/b.txt", None) == "u2"
    with pytest.raises(NotFoundError, match="in bucket 'x'"):
        url_of(listed, "a/b", "x")


def test_protocol_messages() -> None:
    assert data_of({"type": "next", "payload": {"data": {"a": 1}}}) == {"a": 1}
    assert data_of({"type": "ping"}) is None
    with pytest.raises(SubscriptionEnded):
        data_of({"type": "complete", "id": "1"})
    with pytest.raises(NotFoundError):
        data_of(
            {
                "type": "error",
                "payload": [{"message": "no", "extensions": {"code": "NOT_FOUND_ERROR"}}],
            }
        )
    assert ws_url("https://gw/graphql") == "wss://gw/graphql"
    with pytest.raises(GatewayUnavailableError, match="not a graphql-transport-ws message"):
        parsed("<html>502 Bad Gateway</html>")
