"""Subjects and filters as NATS matches them: an owner's filters match all of
that owner's subjects and none of another's, whatever the owner names are;
values that would widen or move a subject are refused. Phases and their
names."""

import hashlib
import re

import pytest
from google.protobuf.message import Message
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from simpipe.v1 import events_pb2
from simpipe_events import contract


def nats_matches(filter_subject: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more to the end."""
    wanted, tokens = filter_subject.split("."), subject.split(".")
    for index, want in enumerate(wanted):
        if want == ">":
            return len(tokens) > index
        if index >= len(tokens) or want not in ("*", tokens[index]):
            return False
    return len(wanted) == len(tokens)


@pytest.mark.parametrize(
    ("filter_subject", "subject", "matches"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("a.*.c", "a.b.d", False),
        ("a.b", "a.b.c", False),
        ("a.b.c", "a.b", False),
    ],
)
def test_the_matcher_is_nats(filter_subject: str, subject: str, matches: bool) -> None:
    assert nats_matches(filter_subject, subject) is matches


# Owners are user names or OIDC subjects: anything, subject characters included.
OWNERS = st.text(min_size=1, max_size=40)
# Projects, runs and Argo node ids are DNS-1123 labels.
LABELS = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True)
BUCKETS = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]", fullmatch=True)
RUN_EVENTS = [e for e in contract.EVENT_TYPES if "run" in e.placeholders]


def subjects(owner: str, project: str, run: str, node: str, bucket: str) -> list[str]:
    """A subject of every event type, filled with these values."""
    # A simulation's id is a DNS label like a run's: the run's value serves.
    values = {
        "owner": owner, "project": project, "run": run, "node": node, "bucket": bucket,
        "simulation": run,
    }  # fmt: skip
    return [
        event.subject(**{p: values[p] for p in event.placeholders})
        for event in contract.EVENT_TYPES
    ]


def filters(owner: str, project: str, run: str) -> list[str]:
    """Every filter of one owner the contract builds."""
    found = [
        contract.owner_filter(owner),
        contract.project_runs_filter(owner, project),
        contract.run_filter(owner, run),
        contract.run_filter(owner, run, project),
    ]
    return found + [event.filter(owner=owner) for event in contract.EVENT_TYPES]


@settings(database=None, max_examples=200)
@given(owner=OWNERS, other=OWNERS, project=LABELS, run=LABELS, node=LABELS, bucket=BUCKETS)
@example(owner="a.b", other="a", project="p", run="r", node="n", bucket="b.c")
@example(owner="*", other=">", project="p", run="r", node="n", bucket="bkt")
@example(owner="alice @example.org", other="alice@example.org", project="p", run="r",
         node="n", bucket="bkt")  # fmt: skip
def test_a_subject_of_one_owner_never_matches_a_filter_of_another(
    owner: str, other: str, project: str, run: str, node: str, bucket: str
) -> None:
    assume(owner != other)
    for subject in subjects(owner, project, run, node, bucket):
        for filter_subject in filters(other, project, run):
            assert not nats_matches(filter_subject, subject), (filter_subject, subject)


@settings(database=None, max_examples=200)
@given(owner=OWNERS, project=LABELS, run=LABELS, node=LABELS, bucket=BUCKETS)
@example(owner=" ", project="p", run="r", node="n", bucket="b.c")
def test_an_owners_filters_match_their_own_subjects(
    owner: str, project: str, run: str, node: str, bucket: str
) -> None:
    every = subjects(owner, project, run, node, bucket)
    assert all(nats_matches(contract.owner_filter(owner), s) for s in every)
    for event, subject in zip(contract.EVENT_TYPES, every, strict=True):
        assert nats_matches(event.filter(owner=owner), subject)
        assert nats_matches(event.filter(), subject)
        assert contract.event_type_of_subject(subject) == event
        if event in RUN_EVENTS:
            assert nats_matches(contract.run_filter(owner, run), subject)
            assert nats_matches(contract.run_filter(owner, run, project), subject)
            assert nats_matches(contract.project_runs_filter(owner, project), subject)
            assert nats_matches(contract.all_runs_filter(), subject)
        else:
            assert not nats_matches(contract.all_runs_filter(), subject)


@settings(database=None, max_examples=100)
@given(project=LABELS, run=LABELS, other_run=LABELS, other_project=LABELS)
def test_a_run_filter_matches_that_run_only(
    project: str, run: str, other_run: str, other_project: str
) -> None:
    assume(run != other_run and project != other_project)
    run_filter = contract.run_filter("alice", run, project)
    for event in RUN_EVENTS:
        values = {"owner": "alice", "project": project, "run": run, "node": "n"}
        mine = event.subject(**{p: values[p] for p in event.placeholders})
        assert nats_matches(run_filter, mine)
        for changed in ({"run": other_run}, {"project": other_project}):
            theirs = event.subject(**{p: {**values, **changed}[p] for p in event.placeholders})
            assert not nats_matches(run_filter, theirs)


def test_the_owner_token_is_the_first_32_hex_digits_of_the_owners_sha256() -> None:
    owner = "alice@example.org"
    assert contract.owner_token(owner) == hashlib.sha256(owner.encode()).hexdigest()[:32]
    assert re.fullmatch("[0-9a-f]{32}", contract.owner_token("*.> \t"))
    # A lone surrogate (a JSON token can carry one) is a name like any other.
    assert re.fullmatch("[0-9a-f]{32}", contract.owner_token("\ud800"))


HOSTILE = st.text(min_size=1, max_size=20).filter(
    lambda v: any(c in v for c in ".*>") or any(c.isspace() for c in v)
)


@settings(database=None, max_examples=100)
@given(value=HOSTILE)
@example(value="*")
@example(value=">")
@example(value="a.b")
@example(value="a b")
@example(value="run\n")
def test_a_token_that_would_widen_or_move_a_subject_is_refused(value: str) -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        contract.token(value)
    with pytest.raises(contract.InvalidSubjectTokenError):
        contract.run_filter("alice", value)
    with pytest.raises(contract.InvalidSubjectTokenError):
        contract.project_runs_filter("alice", value)
    for event in RUN_EVENTS:
        with pytest.raises(contract.InvalidSubjectTokenError):
            event.filter(owner="alice", run=value)
        with pytest.raises(contract.InvalidSubjectTokenError):
            event.subject(owner="alice", project="p", run=value, node="n")
    with pytest.raises(contract.InvalidSubjectTokenError):
        contract.subject_of(events_pb2.StepPhaseChanged(owner="alice", dry_run_id="r",
                                                        node_id=value))  # fmt: skip


@pytest.mark.parametrize(
    "event",
    [
        events_pb2.DryRunPhaseChanged(owner="", dry_run_id="r"),
        events_pb2.DryRunPhaseChanged(owner="alice", dry_run_id=""),
        events_pb2.ObjectCreated(owner="alice", bucket="*"),
        events_pb2.ObjectCreated(owner="alice", bucket=""),
    ],
    ids=["no owner", "no run", "a wildcard bucket", "no bucket"],
)
def test_an_event_without_a_subject_is_refused(event: Message) -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        contract.subject_of(event)


def test_a_filter_names_only_placeholders_of_its_type() -> None:
    kind = contract.event_type(events_pb2.ObjectCreated)
    with pytest.raises(contract.InvalidSubjectTokenError):
        kind.filter(run="r")
    with pytest.raises(contract.InvalidSubjectTokenError):
        kind.subject(owner="alice")


def test_subjects_outside_the_contract_have_no_event_type() -> None:
    token = contract.owner_token("alice")
    for subject in (
        f"simpipe.v1.{token}.run.p.r",
        f"simpipe.v1.{token}.run.p.r.phase.extra",
        f"simpipe.v2.{token}.run.p.r.phase",
        f"simpipe.v1.{token}.run.p.*.phase",
        "simpipe.v1.deadletter.metrics-collector",
        "",
    ):
        assert contract.event_type_of_subject(subject) is None, subject


def test_the_terminal_run_phases_are_succeeded_failed_and_error() -> None:
    assert {
        events_pb2.DRY_RUN_PHASE_SUCCEEDED,
        events_pb2.DRY_RUN_PHASE_FAILED,
        events_pb2.DRY_RUN_PHASE_ERROR,
    } == contract.TERMINAL_RUN_PHASES
    assert {contract.run_phase_name(p) for p in contract.TERMINAL_RUN_PHASES} == {
        "Succeeded", "Failed", "Error",
    }  # fmt: skip


def test_the_terminal_node_phases_are_those_argo_never_leaves() -> None:
    assert {contract.node_phase_name(p) for p in contract.TERMINAL_NODE_PHASES} == {
        "Succeeded", "Skipped", "Failed", "Error", "Omitted",
    }  # fmt: skip


def test_phase_names_round_trip() -> None:
    assert contract.RUN_PHASE_NAMES == (
        "Pending", "Running", "Suspended", "Succeeded", "Failed", "Error", "Unknown",
    )  # fmt: skip
    for name in contract.RUN_PHASE_NAMES:
        assert contract.run_phase_name(contract.run_phase_of_name(name)) == name
    for name in contract.NODE_PHASE_NAMES:
        assert contract.node_phase_name(contract.node_phase_of_name(name)) == name
    assert "Skipped" in contract.NODE_PHASE_NAMES


def test_a_phase_name_argo_does_not_know_is_unknown() -> None:
    assert contract.run_phase_of_name("Exploded") == events_pb2.DRY_RUN_PHASE_UNKNOWN
    assert contract.node_phase_of_name("") == events_pb2.NODE_PHASE_UNKNOWN
