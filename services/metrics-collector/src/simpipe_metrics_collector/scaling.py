"""Scaling laws: how a step's duration, CPU and memory grow with the input
size, fitted by least squares on all dry runs (the original drew a line
through the first two), with R² on the measured scale so models compare.

- linear:      y = a + b x
- power:       y = a x^b        (fitted as ln y = ln a + b ln x)
- logarithmic: y = a + b ln x
"""

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from simpipe_common.errors import InvalidInputError


class Regression(Enum):
    LINEAR = "linear"
    POWER = "power"
    LOGARITHMIC = "logarithmic"


class Aggregate(Enum):
    AVERAGE = "average"
    MEDIAN = "median"
    MAX = "max"


def regression(name: str) -> Regression:
    """The method named (linear when empty, as the original)."""
    try:
        return Regression(name or Regression.LINEAR.value)
    except ValueError:
        raise InvalidInputError(
            f"regressionMethod {name[:40]!r} is not one of linear, power, logarithmic"
        ) from None


def aggregate(name: str) -> Aggregate:
    """The method named (average when empty, as the original)."""
    try:
        return Aggregate(name or Aggregate.AVERAGE.value)
    except ValueError:
        raise InvalidInputError(
            f"aggregateMethod {name[:40]!r} is not one of average, median, max"
        ) from None


def aggregated(values: Sequence[float], method: Aggregate) -> float:
    if not values:
        return 0.0
    reducers: dict[Aggregate, Callable[[Sequence[float]], float]] = {
        Aggregate.AVERAGE: statistics.fmean,
        Aggregate.MEDIAN: statistics.median,
        Aggregate.MAX: max,
    }
    return float(reducers[method](values))


@dataclass(frozen=True)
class Fit:
    coeffs: tuple[float, float]
    type: Regression
    r2: float

    def predict(self, x: float) -> float:
        a, b = self.coeffs
        if self.type is Regression.LINEAR:
            return a + b * x
        _positive("data_x_to_predict", [x], self.type)
        if self.type is Regression.POWER:
            return float(a * x**b)
        return a + b * math.log(x)


def _positive(name: str, values: Sequence[float], method: Regression) -> None:
    if any(v <= 0 for v in values):
        raise InvalidInputError(f"a {method.value} fit needs {name} > 0 (it takes their logarithm)")


def fit(x: Sequence[float], y: Sequence[float], method: Regression, what: str = "y") -> Fit:
    """Least squares on all points; `what` names y in error messages."""
    if len(x) != len(y):
        raise InvalidInputError(
            f"data_x has {len(x)} values but {what} has {len(y)}: one per dry run is needed"
        )
    if len(set(x)) < 2:
        raise InvalidInputError(
            f"fitting {what} needs at least 2 dry runs with different data_x, got {len(set(x))}"
        )
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise InvalidInputError(f"data_x and {what} must be finite numbers")
    if method is not Regression.LINEAR:
        _positive("data_x", x, method)
    if method is Regression.POWER:
        _positive(what, y, method)
    features = xs if method is Regression.LINEAR else np.log(xs)
    targets = np.log(ys) if method is Regression.POWER else ys
    design = np.column_stack([np.ones_like(features), features])
    (intercept, slope), *_ = np.linalg.lstsq(design, targets, rcond=None)
    a = float(np.exp(intercept)) if method is Regression.POWER else float(intercept)
    found = Fit((a, float(slope)), method, 0.0)
    predicted = np.asarray([found.predict(float(v)) for v in xs])
    return Fit(found.coeffs, method, _r2(ys, predicted))


def _r2(observed: np.ndarray, predicted: np.ndarray) -> float:
    residual = float(np.sum((observed - predicted) ** 2))
    total = float(np.sum((observed - observed.mean()) ** 2))
    if total == 0.0:
        # Every measurement equal: a perfect fit explains it all, any other nothing.
        return 1.0 if residual <= 1e-12 * max(1.0, float(np.sum(observed**2))) else 0.0
    return 1.0 - residual / total


@dataclass(frozen=True)
class NodeData:
    """The original AggregatedNodeMetrics of one step across dry runs."""

    cpu: list[float]
    mem: list[float]
    file_size: list[float]
    duration: list[float]
    node_id: list[str]


@dataclass(frozen=True)
class NodeLaws:
    node_name: str
    cpu: Fit
    mem: Fit
    duration: Fit
    data: NodeData


def scaling_laws(
    nodes: Sequence[tuple[str, NodeData]], data_x: Sequence[float], method: Regression
) -> list[NodeLaws]:
    if not nodes:
        raise InvalidInputError("no steps to fit: give dryRunIds or nodesAggregatedNodeMetrics")
    return [
        NodeLaws(
            name,
            cpu=fit(data_x, data.cpu, method, f"cpu of step {name!r}"),
            mem=fit(data_x, data.mem, method, f"mem of step {name!r}"),
            duration=fit(data_x, data.duration, method, f"duration of step {name!r}"),
            data=data,
        )
        for name, data in nodes
    ]


@dataclass(frozen=True)
class Prediction:
    cpu: float
    mem: float
    duration: float


def predict(laws: Sequence[NodeLaws], x: float) -> tuple[Prediction, list[tuple[str, Prediction]]]:
    """Each step's prediction at input size `x`, and their sum (the
    original's total: steps one after another)."""
    steps = [
        (law.node_name, Prediction(law.cpu.predict(x), law.mem.predict(x), law.duration.predict(x)))
        for law in laws
    ]
    total = Prediction(
        sum(p.cpu for _, p in steps),
        sum(p.mem for _, p in steps),
        sum(p.duration for _, p in steps),
    )
    return total, steps
