"""Energy and carbon from CPU time and memory held: a linear power model
(watts per busy core, watts per GB of memory held) and the grid's carbon
intensity, as the original's carbontracker estimate but with its inputs
stated and configurable."""

from dataclasses import dataclass

JOULES_PER_KWH = 3.6e6
BYTES_PER_GB = 1e9


@dataclass(frozen=True)
class EnergyModel:
    watts_per_core: float
    watts_per_gb_memory: float
    grid_g_co2_per_kwh: float

    def energy_kwh(self, cpu_seconds: float, memory_byte_seconds: float) -> float:
        """Energy of `cpu_seconds` of busy cores and memory held over time
        (bytes x seconds)."""
        joules = (
            cpu_seconds * self.watts_per_core
            + memory_byte_seconds / BYTES_PER_GB * self.watts_per_gb_memory
        )
        return joules / JOULES_PER_KWH

    def carbon_g_co2(self, energy_kwh: float) -> float:
        return energy_kwh * self.grid_g_co2_per_kwh
