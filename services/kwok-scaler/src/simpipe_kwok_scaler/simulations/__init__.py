"""Simulations: a project's pipeline run as N copies on a virtual cluster,
timed by KWOK from per-step figures, observed in the apiserver and replayed
into a simulated timeline and a durable report."""

from typing import TYPE_CHECKING

from simpipe_kwok_scaler.simulations.settings import SimulationSettings

if TYPE_CHECKING:
    from simpipe_kwok_scaler.simulations.engine import Simulations

__all__ = ["SimulationSettings", "Simulations"]


def __getattr__(name: str) -> object:
    # The engine imports the clusters package, which imports the settings
    # (config.py), which import SimulationSettings from here: the engine is
    # loaded on first use, not with the settings.
    if name == "Simulations":
        from simpipe_kwok_scaler.simulations.engine import Simulations

        return Simulations
    raise AttributeError(name)
