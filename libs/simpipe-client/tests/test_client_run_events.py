"""The event subscriber refuses what would widen its filter, before it
touches NATS."""

from __future__ import annotations

from typing import Any

import pytest

from simpipe_client.events import project_run_events
from simpipe_events import contract


class NoNats:
    """A connection that must not be used."""

    def jetstream(self) -> Any:
        raise AssertionError("NATS was asked")


@pytest.mark.parametrize("project", ["", "*", ">", "a.b", "a b"])
async def test_a_project_that_is_no_subject_token_is_refused(project: str) -> None:
    with pytest.raises(contract.InvalidSubjectTokenError):
        async for _ in project_run_events(NoNats(), "alice", project):  # type: ignore[arg-type]
            pass
