"""The original GUI's per-step energy estimate (`fetchCarbontrackerData`):
the page sends a step's `cpuUsageSecondsTotal` series, as it read it, and
gets energy and CO2 back. Here they come from the same power model as the
runs' `metricsSummary` (simpipe_common.energy, its settings shared by the
services), from CPU time alone: the input carries no memory series."""

import itertools
import math

import strawberry

from simpipe_common.energy import EnergyModel
from simpipe_gateway.context import GatewayInfo, caller, gateway
from simpipe_gateway.errors import graphql_error
from simpipe_gateway.input_bounds import bounded_list
from simpipe_gateway.metrics_api import PrometheusStringNumber, TimeStamp

# Prometheus answers at most 11,000 points of one series in a range query:
# a step's series the page read holds no more.
MAX_SAMPLES = 11_000
INVALID = "INPUT_VALIDATION_ERROR"


@strawberry.input
class PrometheusSampleInput:
    timestamp: TimeStamp
    value: PrometheusStringNumber


@strawberry.input
class CarbonTrackerCpuUsageInput:
    cpu_usage_seconds_total: list[PrometheusSampleInput] = strawberry.field(
        description=f"A step's CPU-seconds counter in time order, at most {MAX_SAMPLES} samples."
    )


@strawberry.input
class CarbonTrackerMetricsInput:
    metrics: CarbonTrackerCpuUsageInput


@strawberry.input
class CarbonTrackerNodeInput:
    node: CarbonTrackerMetricsInput


@strawberry.input
class CarbonTrackerDryRunInput:
    dry_run: CarbonTrackerNodeInput


@strawberry.input(description="One step's CPU usage, nested as the original GUI sends it.")
class CarbonTrackerInput:
    data: CarbonTrackerDryRunInput


@strawberry.type(description="A step's energy and CO2 from its CPU time and the power model.")
class CarbonTrackerData:
    duration: float = strawberry.field(description="Seconds from the first sample to the last.")
    cpu_model: str = strawberry.field(description="What stands for the CPU: the power model.")
    cpu_power_data: str = strawberry.field(description="The model's figures, in words.")
    average_power_usage: float
    average_power_usage_unit: str
    energy_usage: float
    energy_usage_unit: str
    location: str = strawberry.field(description="Where the grid intensity comes from.")
    carbon_intensity: float
    carbon_intensity_unit: str
    energy: float
    energy_unit: str
    co2eq: float
    co2eq_unit: str


def cpu_seconds_and_duration(samples: list[PrometheusSampleInput]) -> tuple[float, float]:
    """The counter's increase over the samples (a drop is a restarted
    container: counting starts again from its value), and their time span."""
    if not samples:
        raise graphql_error("cpuUsageSecondsTotal holds no samples", INVALID)
    values: list[float] = []
    for index, sample in enumerate(samples):
        try:
            value = float(sample.value)
        except ValueError:
            raise graphql_error(
                f"cpuUsageSecondsTotal[{index}].value {sample.value[:40]!r} is not a number",
                INVALID,
            ) from None
        if not math.isfinite(value) or value < 0:
            raise graphql_error(
                f"cpuUsageSecondsTotal[{index}].value must be a finite, non-negative number",
                INVALID,
            )
        if not math.isfinite(sample.timestamp):
            raise graphql_error(f"cpuUsageSecondsTotal[{index}].timestamp is not finite", INVALID)
        if index and sample.timestamp < samples[index - 1].timestamp:
            raise graphql_error(
                f"cpuUsageSecondsTotal[{index}] is earlier than the sample before it", INVALID
            )
        values.append(value)
    used = sum(b - a if b >= a else b for a, b in itertools.pairwise(values))
    return used, samples[-1].timestamp - samples[0].timestamp


def estimate(samples: list[PrometheusSampleInput], model: EnergyModel) -> CarbonTrackerData:
    used, duration = cpu_seconds_and_duration(samples)
    kwh = model.energy_kwh(used, 0.0)
    watts = used * model.watts_per_core / duration if duration > 0 else 0.0
    return CarbonTrackerData(
        duration=duration,
        cpu_model="linear power model (not measured)",
        cpu_power_data=f"{model.watts_per_core:g} W per busy core (SIMPIPE_WATTS_PER_CORE)",
        average_power_usage=watts,
        average_power_usage_unit="W",
        energy_usage=kwh,
        energy_usage_unit="kWh",
        location="configured grid intensity (SIMPIPE_GRID_G_CO2_PER_KWH)",
        carbon_intensity=model.grid_g_co2_per_kwh,
        carbon_intensity_unit="gCO2eq/kWh",
        energy=kwh,
        energy_unit="kWh",
        co2eq=model.carbon_g_co2(kwh),
        co2eq_unit="g",
    )


@strawberry.type
class CarbonTrackerQuery:
    @strawberry.field(
        description="Energy and CO2 of a step's CPU usage series, by the stack's power model."
    )  # type: ignore[untyped-decorator]
    async def fetch_carbontracker_data(
        self, info: GatewayInfo, input: CarbonTrackerInput
    ) -> CarbonTrackerData:
        await caller(info)
        samples = bounded_list(
            input.data.dry_run.node.metrics.cpu_usage_seconds_total,
            "cpuUsageSecondsTotal",
            MAX_SAMPLES,
        )
        return estimate(samples, gateway(info).energy)
