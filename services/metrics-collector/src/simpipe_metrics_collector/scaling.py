"""Scaling laws: how a step's duration, CPU and memory grow with the input
size, fitted by least squares on all dry runs (the original drew a line
through the first two), with R² on the measured scale so models compare.

- linear:      y = a + b x
- power:       y = a x^b        (fitted as ln y = ln a + b ln x)
- logarithmic: y = a + b ln x
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

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
    if not all(math.isfinite(v) for v in (*x, *y)):
        raise InvalidInputError(f"data_x and {what} must be finite numbers")
    if method is not Regression.LINEAR:
        _positive("data_x", x, method)
    if method is Regression.POWER:
        _positive(what, y, method)
    features = list(x) if method is Regression.LINEAR else [math.log(v) for v in x]
    targets = [math.log(v) for v in y] if method is Regression.POWER else list(y)
    intercept, slope = _least_squares(features, targets)
    a = math.exp(intercept) if method is Regression.POWER else intercept
    found = Fit((a, slope), method, 0.0)
    return Fit(found.coeffs, method, _r2(y, [found.predict(v) for v in x]))


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of the line minimising the squared residuals:
    the normal equations of two parameters, on centred values (exact sums by
    fsum) so large x do not cancel digits away."""
    mean_x, mean_y = math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)
    dx = [v - mean_x for v in xs]
    spread = math.fsum(d * d for d in dx)
    if spread == 0.0:
        raise InvalidInputError("the data_x values are too close together to fit a slope")
    slope = math.fsum(d * (v - mean_y) for d, v in zip(dx, ys, strict=True)) / spread
    return mean_y - slope * mean_x, slope


def _r2(observed: Sequence[float], predicted: Sequence[float]) -> float:
    residual = math.fsum((o - p) ** 2 for o, p in zip(observed, predicted, strict=True))
    mean = math.fsum(observed) / len(observed)
    total = math.fsum((o - mean) ** 2 for o in observed)
    if total == 0.0:
        # Every measurement equal: a perfect fit explains it all, any other nothing.
        return 1.0 if residual <= 1e-12 * max(1.0, math.fsum(o * o for o in observed)) else 0.0
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
