"""The read model holds the runs of two namespaces (real nodes', simulations'):
a list or a deletion in one leaves the other's runs alone."""

import copy
from typing import Any

from simpipe_argo_watcher.read_model import ReadModel

NAMESPACES = ("simpipe", "simpipe-sim")


def in_namespace(workflow: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    moved = copy.deepcopy(workflow)
    moved["metadata"].update(namespace=namespace, name=name)
    return moved


def test_it_is_synced_only_once_every_namespace_was_listed(pending: dict[str, Any]) -> None:
    model = ReadModel(namespaces=NAMESPACES)
    model.replace_all([in_namespace(pending, "simpipe", "real-run")], "simpipe")
    assert not model.synced.is_set(), "the simulations' runs are not known yet"
    model.replace_all([], "simpipe-sim")
    assert model.synced.is_set()


def test_a_list_of_one_namespace_keeps_the_runs_of_the_other(pending: dict[str, Any]) -> None:
    model = ReadModel(namespaces=NAMESPACES)
    model.replace_all([in_namespace(pending, "simpipe", "real-run")], "simpipe")
    model.replace_all([in_namespace(pending, "simpipe-sim", "sim-run")], "simpipe-sim")
    sim_run = model.get("sim-run")
    assert sim_run is not None
    assert sim_run.namespace == "simpipe-sim"
    # The simulations' namespace is listed again, now empty.
    (change,) = model.replace_all([], "simpipe-sim")
    assert change.current is None
    assert change.previous is not None
    assert change.previous.dry_run.id == "sim-run"
    real_run = model.get("real-run")
    assert model.get("sim-run") is None
    assert real_run is not None
    assert real_run.namespace == "simpipe"


def test_a_deletion_in_another_namespace_leaves_the_run(pending: dict[str, Any]) -> None:
    model = ReadModel(namespaces=NAMESPACES)
    model.replace_all([in_namespace(pending, "simpipe", "a-run")], "simpipe")
    assert model.delete("a-run", "simpipe-sim") is None
    assert model.get("a-run") is not None
    assert model.delete("a-run", "simpipe") is not None
    assert model.get("a-run") is None
