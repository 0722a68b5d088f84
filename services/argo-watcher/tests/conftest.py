import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    """A Workflow as the Kubernetes API served it during a real run on the local
    stack (two KWOK steps, the second exits 3), managedFields removed."""
    workflow: dict[str, Any] = json.loads((FIXTURES / f"workflow-{name}.json").read_text())
    return workflow


@pytest.fixture
def pending() -> dict[str, Any]:
    return load("pending-step")


@pytest.fixture
def running() -> dict[str, Any]:
    return load("running")


@pytest.fixture
def failed() -> dict[str, Any]:
    return load("failed")
