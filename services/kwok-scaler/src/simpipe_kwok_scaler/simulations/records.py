"""A simulation's durable record: a ConfigMap in the scaler's namespace
holding what was asked, the figures, how far it got and what was observed
so far (checkpointed while it runs), so a restarted scaler can resume it.
The apiserver keeps it like the simulated runs themselves."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from simpipe.v1 import kwok_scaler_pb2 as pb
from simpipe_common.errors import NotFoundError, UnavailableError
from simpipe_common.ownership import (
    ANNOTATION_OWNER,
    LABEL_MANAGED,
    LABEL_OWNER_HASH,
    LABEL_PROJECT,
    owner_hash,
)
from simpipe_kwok_scaler.clusters.kube import typed

T = TypeVar("T")

RECORD_LABEL: Final = "simpipe.io/record"
RECORD_KIND: Final = "simulation"
SIMULATION_KEY: Final = "simulation.json"
FIGURES_KEY: Final = "figures.json"
STATE_KEY: Final = "state.json"
OBSERVATIONS_KEY: Final = "observations.json.gz"


def record_name(owner: str, simulation_id: str) -> str:
    # The whole owner hash: simulation ids are unique per owner only.
    return f"sim-{owner_hash(owner)}-{simulation_id}"


def owner_selector(owner: str, project_id: str = "") -> str:
    selector = f"{RECORD_LABEL}={RECORD_KIND},{LABEL_OWNER_HASH}={owner_hash(owner)}"
    return f"{selector},{LABEL_PROJECT}={project_id}" if project_id else selector


def all_selector() -> str:
    return f"{RECORD_LABEL}={RECORD_KIND}"


@dataclass
class SimulationRecord:
    simulation: pb.Simulation
    figures: list[pb.StepFigures]
    # How far it got: copies submitted, the wall clock of copy 0's
    # submission, the report's key once written...
    state: dict[str, Any] = field(default_factory=dict)
    observations: list[dict[str, Any]] = field(default_factory=list)
    resource_version: str = ""

    @property
    def owner(self) -> str:
        return self.simulation.owner

    def document(self, namespace: str) -> dict[str, Any]:
        sim = self.simulation
        metadata: dict[str, Any] = {
            "name": record_name(sim.owner, sim.id),
            "namespace": namespace,
            "labels": {
                LABEL_MANAGED: "true",
                RECORD_LABEL: RECORD_KIND,
                LABEL_OWNER_HASH: owner_hash(sim.owner),
                LABEL_PROJECT: sim.project_id,
            },
            "annotations": {ANNOTATION_OWNER: sim.owner},
        }
        if self.resource_version:
            metadata["resourceVersion"] = self.resource_version
        observed = gzip.compress(json.dumps(self.observations).encode(), compresslevel=5)
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": {
                SIMULATION_KEY: json_format.MessageToJson(sim, indent=None),
                FIGURES_KEY: json.dumps(
                    [json_format.MessageToDict(f) for f in self.figures], sort_keys=True
                ),
                STATE_KEY: json.dumps(self.state, sort_keys=True),
            },
            "binaryData": {OBSERVATIONS_KEY: base64.b64encode(observed).decode()},
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SimulationRecord:
        data = document.get("data") or {}
        simulation = json_format.Parse(data[SIMULATION_KEY], pb.Simulation())
        figures = [
            json_format.ParseDict(f, pb.StepFigures()) for f in json.loads(data[FIGURES_KEY])
        ]
        observed = (document.get("binaryData") or {}).get(OBSERVATIONS_KEY)
        observations = json.loads(gzip.decompress(base64.b64decode(observed))) if observed else []
        return cls(
            simulation=simulation,
            figures=figures,
            state=json.loads(data.get(STATE_KEY) or "{}"),
            observations=observations,
            resource_version=str((document.get("metadata") or {}).get("resourceVersion", "")),
        )


class Records:
    """The records, through the (blocking) Kubernetes client on threads."""

    def __init__(self, api: Callable[[], client.ApiClient], namespace: str, timeout: float):
        self._api = api
        self.namespace = namespace
        self.timeout = timeout

    async def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
        except ApiException as error:
            raise typed(what, error) from None
        except (HTTPError, OSError) as error:
            raise UnavailableError(
                f"{what}: the Kubernetes API does not answer ({error})"
            ) from None

    def _core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self._api())

    @staticmethod
    def _json(response: Any) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(response.data)
        return found

    async def create(self, record: SimulationRecord) -> None:
        document = record.document(self.namespace)
        answer = await self._call(
            f"simulation {record.simulation.id}",
            self._core().create_namespaced_config_map,
            self.namespace, document, _preload_content=False,
        )  # fmt: skip
        record.resource_version = str(self._json(answer)["metadata"]["resourceVersion"])

    async def config_map(self, what: str, name: str) -> dict[str, Any]:
        """Any ConfigMap of the scaler's namespace (e.g. a virtual cluster's record)."""
        answer = await self._call(
            what, self._core().read_namespaced_config_map, name, self.namespace,
            _preload_content=False,
        )  # fmt: skip
        return self._json(answer)

    async def read(self, owner: str, simulation_id: str) -> SimulationRecord:
        answer = await self._call(
            f"simulation {simulation_id}",
            self._core().read_namespaced_config_map,
            record_name(owner, simulation_id), self.namespace, _preload_content=False,
        )  # fmt: skip
        return SimulationRecord.from_document(self._json(answer))

    async def write(self, record: SimulationRecord) -> None:
        """Over the version last read or written: a ConflictError if it changed."""
        document = record.document(self.namespace)
        answer = await self._call(
            f"simulation {record.simulation.id}",
            self._core().replace_namespaced_config_map,
            document["metadata"]["name"], self.namespace, document, _preload_content=False,
        )  # fmt: skip
        record.resource_version = str(self._json(answer)["metadata"]["resourceVersion"])

    async def delete(self, owner: str, simulation_id: str) -> None:
        with contextlib.suppress(NotFoundError):
            await self._call(
                f"simulation {simulation_id}",
                self._core().delete_namespaced_config_map,
                record_name(owner, simulation_id), self.namespace, _preload_content=False,
            )  # fmt: skip

    async def matching(self, selector: str) -> list[SimulationRecord]:
        answer = await self._call(
            "simulations",
            self._core().list_namespaced_config_map,
            self.namespace, label_selector=selector, _preload_content=False,
        )  # fmt: skip
        found = []
        for item in self._json(answer).get("items") or ():
            with contextlib.suppress(KeyError, ValueError, json_format.ParseError):
                found.append(SimulationRecord.from_document(item))
        return found
