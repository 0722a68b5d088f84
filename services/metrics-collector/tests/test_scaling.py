"""Scaling laws recover the parameters of synthetic data."""

import math
import random

import pytest

from simpipe_common.errors import InvalidInputError
from simpipe_metrics_collector.scaling import (
    Aggregate,
    NodeData,
    Regression,
    aggregate,
    fit,
    predict,
    regression,
    scaling_laws,
)

X = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def noisy(values: list[float], seed: int = 7, scale: float = 0.01) -> list[float]:
    rng = random.Random(seed)
    return [v * (1 + scale * rng.gauss(0.0, 1.0)) for v in values]


def test_linear_fit_recovers_intercept_and_slope() -> None:
    found = fit(X, [3 + 2 * x for x in X], Regression.LINEAR)
    assert found.coeffs == pytest.approx((3.0, 2.0))
    assert found.r2 == pytest.approx(1.0)
    assert found.predict(100) == pytest.approx(203)


def test_power_fit_recovers_the_exponent_through_noise() -> None:
    found = fit(X, noisy([5 * x**1.5 for x in X]), Regression.POWER)
    a, b = found.coeffs
    assert a == pytest.approx(5, rel=0.03)
    assert b == pytest.approx(1.5, rel=0.01)
    assert found.r2 > 0.999


def test_logarithmic_fit_recovers_its_parameters() -> None:
    found = fit(X, [2 + 3 * math.log(x) for x in X], Regression.LOGARITHMIC)
    assert found.coeffs == pytest.approx((2.0, 3.0))
    assert found.predict(math.e**2) == pytest.approx(8.0)


def test_all_points_count_not_just_the_first_two() -> None:
    # The original drew a line through the first two points: slope 10 here.
    y = [0.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    found = fit(X, y, Regression.LINEAR)
    assert found.coeffs[1] < 1
    assert 0 < found.r2 < 1


def test_r2_is_low_for_the_wrong_model() -> None:
    y = [x**2 for x in X]
    assert fit(X, y, Regression.LOGARITHMIC).r2 < fit(X, y, Regression.POWER).r2


@pytest.mark.parametrize(
    ("x", "y", "method", "message"),
    [
        ([1.0, 2.0], [1.0], Regression.LINEAR, "data_x has 2 values"),
        ([1.0], [1.0], Regression.LINEAR, "at least 2 dry runs"),
        ([2.0, 2.0], [1.0, 3.0], Regression.LINEAR, "at least 2 dry runs"),
        ([0.0, 2.0], [1.0, 3.0], Regression.POWER, "data_x > 0"),
        ([-1.0, 2.0], [1.0, 3.0], Regression.LOGARITHMIC, "data_x > 0"),
        ([1.0, 2.0], [0.0, 3.0], Regression.POWER, "y > 0"),
        ([1.0, math.nan], [1.0, 3.0], Regression.LINEAR, "finite"),
    ],
)
def test_unfit_input_is_an_input_error(
    x: list[float], y: list[float], method: Regression, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        fit(x, y, method)


def test_methods_by_name() -> None:
    assert regression("") is Regression.LINEAR
    assert regression("logarithmic") is Regression.LOGARITHMIC
    assert aggregate("") is Aggregate.AVERAGE
    with pytest.raises(InvalidInputError):
        regression("cubic")
    with pytest.raises(InvalidInputError):
        aggregate("mode")


def test_predictions_per_step_and_in_total() -> None:
    def node(scale: float) -> NodeData:
        return NodeData(
            cpu=[scale * x for x in X],
            mem=[scale * 100 * x for x in X],
            file_size=X,
            duration=[scale * (1 + x) for x in X],
            node_id=[f"n-{i}" for i in range(len(X))],
        )

    laws = scaling_laws([("a", node(1.0)), ("b", node(2.0))], X, Regression.LINEAR)
    total, steps = predict(laws, 64)
    assert [name for name, _ in steps] == ["a", "b"]
    assert steps[0][1].cpu == pytest.approx(64)
    assert steps[1][1].duration == pytest.approx(2 * 65)
    assert total.cpu == pytest.approx(64 * 3)
    assert total.mem == pytest.approx(6400 * 3)
    with pytest.raises(InvalidInputError, match="cpu of step 'a' has 6"):
        scaling_laws([("a", node(1.0))], X[:-1], Regression.LINEAR)
    power = scaling_laws([("a", node(1.0))], X, Regression.POWER)
    with pytest.raises(InvalidInputError, match="data_x_to_predict"):
        predict(power, 0)


def test_least_squares_matches_the_hand_computed_fit_and_r2() -> None:
    # x = 0..3, y = 1, 3, 2, 5: Sxy = 5.5, Sxx = 5, so slope 1.1 and
    # intercept 2.75 - 1.1 * 1.5 = 1.1; residuals -0.1, 0.8, -1.3, 0.6 give
    # SSres = 2.7 against SStot = 8.75.
    found = fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 5.0], Regression.LINEAR)
    assert found.coeffs == pytest.approx((1.1, 1.1))
    assert found.r2 == pytest.approx(1 - 2.7 / 8.75)


def test_large_input_sizes_lose_no_precision() -> None:
    # Input sizes in bytes: naive sums of x² would cancel the slope's digits.
    x = [1e12 + i for i in range(5)]
    found = fit(x, [7 + 0.25 * (v - 1e12) for v in x], Regression.LINEAR)
    assert found.coeffs[1] == pytest.approx(0.25)
    assert found.predict(1e12 + 8) == pytest.approx(9.0)
