"""events.proto against its compatibility lock (events.lock.json): within v1
it only grows, and the lock records what it has grown by."""

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

from simpipe_events import __main__ as cli
from simpipe_events import compatibility
from simpipe_events.compatibility import Lock, LockedField

LOCK: Final = Path(__file__).parents[3] / "proto" / "simpipe" / "v1" / "events.lock.json"
PHASE_CHANGED: Final = "simpipe.v1.DryRunPhaseChanged"


def test_events_proto_only_added_to_what_the_lock_records() -> None:
    problems = compatibility.problems(compatibility.read(LOCK), compatibility.snapshot())
    assert not problems, "\n".join(
        ["events.proto changed incompatibly with events.lock.json:", *problems, compatibility.RULE]
    )


def test_the_lock_records_every_addition() -> None:
    assert compatibility.read(LOCK) == compatibility.snapshot(), (
        "events.lock.json does not record all of events.proto: run `make events-lock`"
    )


def test_the_lock_records_subjects_numbers_names_types_and_reservations() -> None:
    changed = compatibility.snapshot()["messages"][PHASE_CHANGED]
    assert changed["subject"] == "simpipe.v1.{owner}.run.{project}.{run}.phase"
    assert "subject" not in compatibility.snapshot()["messages"]["simpipe.v1.EventMeta"]
    assert {"number": 10, "name": "phase", "label": "optional", "type": "enum",
            "type_name": "simpipe.v1.DryRunPhase"} in changed["fields"]  # fmt: skip
    assert changed["reserved_numbers"] == [[5, 5]]
    values = compatibility.snapshot()["enums"]["simpipe.v1.DryRunPhase"]["values"]
    assert {"number": 4, "name": "DRY_RUN_PHASE_SUCCEEDED"} in values


def test_the_rendered_lock_reads_back_the_same() -> None:
    lock = compatibility.snapshot()
    rendered = compatibility.render(lock)
    assert rendered.count("\n") > sum(len(m["fields"]) for m in lock["messages"].values())
    assert json.loads(rendered) == lock


Edit = Callable[[Lock], None]


def field(lock: Lock, message: str, name: str) -> LockedField:
    (found,) = [f for f in lock["messages"][message]["fields"] if f["name"] == name]
    return found


def drop_field(lock: Lock, message: str, name: str) -> None:
    fields = lock["messages"][message]["fields"]
    fields.remove(field(lock, message, name))


def retype(lock: Lock) -> None:
    field(lock, PHASE_CHANGED, "progress")["type"] = "int32"


def rename(lock: Lock) -> None:
    field(lock, PHASE_CHANGED, "progress")["name"] = "done"


def renumber(lock: Lock) -> None:
    field(lock, PHASE_CHANGED, "progress")["number"] = 11


def make_repeated(lock: Lock) -> None:
    field(lock, PHASE_CHANGED, "progress")["label"] = "repeated"


def enum_of_another_type(lock: Lock) -> None:
    field(lock, PHASE_CHANGED, "phase")["type_name"] = "simpipe.v1.NodePhase"


def remove_field(lock: Lock) -> None:
    drop_field(lock, PHASE_CHANGED, "progress")


def reuse_a_reserved_number(lock: Lock) -> None:
    fields = lock["messages"][PHASE_CHANGED]["fields"]
    fields.append({"number": 5, "name": "phase_name", "label": "optional", "type": "string"})


def unreserve(lock: Lock) -> None:
    lock["messages"][PHASE_CHANGED]["reserved_numbers"] = []


def give_a_name_a_new_number(lock: Lock) -> None:
    """What `phase` went through: reserved, and added again with a new type."""
    progress = field(lock, PHASE_CHANGED, "progress")
    drop_field(lock, PHASE_CHANGED, "progress")
    lock["messages"][PHASE_CHANGED]["reserved_numbers"].append([6, 6])
    lock["messages"][PHASE_CHANGED]["fields"].append({**progress, "number": 12, "type": "int32"})


def move_subject(lock: Lock) -> None:
    lock["messages"][PHASE_CHANGED]["subject"] = "simpipe.v1.{owner}.run.{project}.{run}.status"


def remove_message(lock: Lock) -> None:
    del lock["messages"]["simpipe.v1.ObjectDeleted"]


def rename_enum_value(lock: Lock) -> None:
    lock["enums"]["simpipe.v1.DryRunPhase"]["values"][4]["name"] = "DRY_RUN_PHASE_DONE"


def remove_enum_value(lock: Lock) -> None:
    del lock["enums"]["simpipe.v1.NodePhase"]["values"][-1]


def remove_enum(lock: Lock) -> None:
    del lock["enums"]["simpipe.v1.NodePhase"]


def edited(edit: Edit) -> Lock:
    lock = copy.deepcopy(compatibility.snapshot())
    edit(lock)
    return lock


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (retype, "`string progress = 6` is now `int32 progress = 6`"),
        (rename, "`string progress = 6` is now `string done = 6`"),
        (renumber, "`string progress = 6` is now `string progress = 11`"),
        (make_repeated, "is now `repeated string progress = 6`"),
        (enum_of_another_type, "is now `simpipe.v1.NodePhase phase = 10`"),
        (remove_field, "`string progress = 6` is gone without being reserved"),
        (reuse_a_reserved_number, "reserved 5 used again"),
        (unreserve, "5 to 5 no longer all reserved"),
        (give_a_name_a_new_number, "`string progress = 6` is now `int32 progress = 12`"),
        (move_subject, "subject `simpipe.v1.{owner}.run.{project}.{run}.phase` is now"),
        (remove_message, "message simpipe.v1.ObjectDeleted is gone"),
        (rename_enum_value, "`DRY_RUN_PHASE_SUCCEEDED = 4` is now `DRY_RUN_PHASE_DONE = 4`"),
        (remove_enum_value, "`NODE_PHASE_UNKNOWN = 8` is gone without being reserved"),
        (remove_enum, "enum simpipe.v1.NodePhase is gone"),
    ],
)
def test_a_change_other_than_an_addition_is_refused(edit: Edit, named: str) -> None:
    """Each edit made to the current contract, as if it were the next one."""
    problems = compatibility.problems(compatibility.snapshot(), edited(edit))
    assert any(named in p for p in problems), problems


def add_field(lock: Lock) -> None:
    fields = lock["messages"][PHASE_CHANGED]["fields"]
    fields.append({"number": 11, "name": "reason", "label": "optional", "type": "string"})


def add_message(lock: Lock) -> None:
    lock["messages"]["simpipe.v1.RunDeleted"] = {
        "subject": "simpipe.v1.{owner}.run.{project}.{run}.deleted",
        "fields": [{"number": 1, "name": "meta", "label": "optional", "type": "message",
                    "type_name": "simpipe.v1.EventMeta"}],
        "reserved_numbers": [], "reserved_names": [],
    }  # fmt: skip


def add_enum_value(lock: Lock) -> None:
    values = lock["enums"]["simpipe.v1.DryRunPhase"]["values"]
    values.append({"number": 8, "name": "DRY_RUN_PHASE_QUEUED"})


def reserve_a_removed_field(lock: Lock) -> None:
    drop_field(lock, PHASE_CHANGED, "progress")
    lock["messages"][PHASE_CHANGED]["reserved_numbers"].append([6, 6])
    lock["messages"][PHASE_CHANGED]["reserved_names"].append("progress")


def reserve_a_wider_range(lock: Lock) -> None:
    lock["messages"][PHASE_CHANGED]["reserved_numbers"] = [[5, 5], [100, 536870911]]


@pytest.mark.parametrize(
    "edit",
    [add_field, add_message, add_enum_value, reserve_a_removed_field, reserve_a_wider_range],
)
def test_an_addition_is_compatible(edit: Edit) -> None:
    assert compatibility.problems(compatibility.snapshot(), edited(edit)) == []


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["simpipe_events", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return int(done.value.code or 0)


def test_the_cli_records_additions_and_refuses_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "events.lock.json"
    assert run_cli(monkeypatch, "lock", "--update", str(lock)) == 0
    assert compatibility.read(lock) == compatibility.snapshot()

    # The lock knew a field events.proto no longer has: refused, lock kept.
    older = edited(add_field)
    lock.write_text(compatibility.render(older))
    assert run_cli(monkeypatch, "lock", "--update", str(lock)) == 1
    assert "`string reason = 11` is gone" in capsys.readouterr().err
    assert compatibility.read(lock) == older

    # The lock missed a field events.proto has now: recorded.
    lock.write_text(compatibility.render(edited(remove_field)))
    assert run_cli(monkeypatch, "lock", "--update", str(lock)) == 0
    assert compatibility.read(lock) == compatibility.snapshot()


def test_the_cli_prints_the_lock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "lock") == 0
    assert capsys.readouterr().out == compatibility.render(compatibility.snapshot())
