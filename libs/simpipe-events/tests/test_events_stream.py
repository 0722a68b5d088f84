"""What makes a stream or a durable consumer unfit for the contract, and what
is the deployment's to choose."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from nats.js.api import AckPolicy, RetentionPolicy, StorageType, StreamConfig

from simpipe_events import contract, stream


def test_the_declared_stream_is_fit() -> None:
    assert stream.stream_problems(stream.stream_config()) == []


def test_limits_are_the_deployments_to_choose() -> None:
    sized = stream.stream_config(stream.StreamLimits(max_age_seconds=60, max_bytes=1, replicas=3))
    assert stream.stream_problems(sized) == []
    assert stream.stream_problems(replace(sized, duplicate_window=3600.0)) == []


def test_a_missing_stream_is_named() -> None:
    assert stream.stream_problems(None) == [f"the JetStream stream {stream.STREAM} does not exist"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param({"subjects": ["simpipe.>"]}, "subjects", id="wider subjects"),
        pytest.param({"subjects": [f"{contract.ROOT}.*.run.>"]}, "subjects", id="fewer subjects"),
        pytest.param({"subjects": None}, "subjects", id="no subjects"),
        pytest.param({"storage": StorageType.MEMORY}, "storage", id="memory storage"),
        pytest.param({"retention": RetentionPolicy.WORK_QUEUE}, "retention", id="a work queue"),
        pytest.param({"duplicate_window": None}, "duplicate window", id="no duplicate window"),
        pytest.param({"duplicate_window": 0.0}, "duplicate window", id="a zero duplicate window"),
        pytest.param({"duplicate_window": 10.0}, "duplicate window", id="a short duplicate window"),
        pytest.param({"allow_direct": None}, "direct reads", id="no direct reads"),
    ],
)
def test_a_stream_not_as_the_contract_needs_is_unfit(change: dict[str, object], named: str) -> None:
    found: StreamConfig = replace(stream.stream_config(), **change)  # type: ignore[arg-type]
    problems = stream.stream_problems(found)
    assert len(problems) == 1
    assert named in problems[0]


def test_every_problem_of_a_stream_is_named_at_once() -> None:
    found = replace(
        stream.stream_config(), storage=StorageType.MEMORY, subjects=["x.>"], duplicate_window=0.0
    )
    assert len(stream.stream_problems(found)) == 3


def test_the_declared_consumers_are_fit() -> None:
    for consumer in stream.DURABLE_CONSUMERS:
        assert stream.consumer_problems(consumer, consumer.config()) == []


def test_a_missing_consumer_is_named() -> None:
    assert stream.consumer_problems(stream.REPORTS, None) == [
        f"the durable consumer {stream.REPORTS.name} does not exist"
    ]


def test_a_consumer_with_another_filter_is_unfit() -> None:
    found = replace(stream.REPORTS.config(), filter_subject=contract.owner_filter("alice"))
    (problem,) = stream.consumer_problems(stream.REPORTS, found)
    assert stream.REPORTS.filter_subject in problem


def test_a_consumer_that_acknowledges_by_itself_is_unfit() -> None:
    for policy in (AckPolicy.NONE, AckPolicy.ALL):
        found = replace(stream.REPORTS.config(), ack_policy=policy)
        (problem,) = stream.consumer_problems(stream.REPORTS, found)
        assert "explicitly" in problem


def test_a_new_consumer_starts_its_backfill_back_and_never_gives_up() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    config = stream.REPORTS.config(now)
    assert config.opt_start_time == now - timedelta(seconds=stream.REPORTS.backfill_seconds)
    assert config.max_deliver == -1
    assert config.ack_wait == stream.REPORTS.backoff_seconds[0]


def test_a_consumer_that_gives_events_up_is_unfit() -> None:
    found = replace(stream.REPORTS.config(), max_deliver=5)
    [problem] = stream.consumer_problems(stream.REPORTS, found)
    assert "gives an event up after 5 deliveries" in problem
