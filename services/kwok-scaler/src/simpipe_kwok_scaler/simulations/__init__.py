"""Simulations: a project's pipeline run as N copies on a virtual cluster,
timed by KWOK from per-step figures, observed in the apiserver and replayed
into a simulated timeline and a durable report."""

from simpipe_kwok_scaler.simulations.engine import Simulations
from simpipe_kwok_scaler.simulations.settings import SimulationSettings

__all__ = ["SimulationSettings", "Simulations"]
