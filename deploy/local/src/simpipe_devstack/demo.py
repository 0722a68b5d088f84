"""`make demo`: dry-run the example pipeline on the local stack and print
its steps and measurements.

Until the gateway's dry-run API lands, the demo talks to the Argo server
and Prometheus directly, the way the services will.
"""

from __future__ import annotations

import time

from simpipe_devstack.components.argo import ArgoServer
from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.example_pipeline import EXAMPLE_STEPS, argo_service, simulated_pipeline
from simpipe_devstack.layout import WORKFLOW_NAMESPACE
from simpipe_devstack.runs import (
    ArgoApi,
    PrometheusApi,
    StepStatus,
    pod_steps,
    pods_by_node_id,
    step_measurements,
)
from simpipe_devstack.stack import Stack


def run_demo(stack: Stack) -> int:
    argo_url = ArgoServer().url(stack)
    started = time.monotonic()
    workflow = simulated_pipeline(EXAMPLE_STEPS, argo_service(argo_url)).create()
    name = str(workflow.metadata.name)
    print(f"submitted {name} ({len(EXAMPLE_STEPS)} steps on KWOK nodes); following it:")

    def show(step: StepStatus) -> None:
        print(f"  {time.monotonic() - started:6.1f}s  {step.name:<12} {step.phase}")

    final = ArgoApi(argo_url).follow(name, timeout=300, on_change=show)
    phase = final["status"]["phase"]
    steps = pod_steps(final)
    pods = pods_by_node_id(str(stack.layout.kubeconfig), name)
    # Let Prometheus take the last 1 s samples of the final step.
    time.sleep(2)
    window = int(time.monotonic() - started) + 5
    measured = step_measurements(
        PrometheusApi(Prometheus().url(stack)), [p for p in pods.values() if p], window
    )
    print(f"\nworkflow {name}: {phase}\n")
    header = f"{'step':<12} {'phase':<10} {'duration':>8} {'exit':>4} {'cpu peak':>9} {'cpu time':>9} {'mem peak':>9}"
    print(header)
    print("-" * len(header))
    for step in steps:
        m = measured.get(pods.get(step.node_id, ""), {})
        duration = f"{step.duration:.0f}s" if step.duration is not None else "-"
        print(
            f"{step.name:<12} {step.phase:<10} {duration:>8} {step.exit_code or '-':>4} "
            f"{m.get('cpu_peak_cores', 0):>7.2f}c {m.get('cpu_seconds', 0):>8.1f}s "
            f"{m.get('memory_peak_mib', 0):>6.0f}MiB"
        )
    print(
        f"\nnext: the Argo API at {argo_url}/api/v1/workflows/{WORKFLOW_NAMESPACE}/{name}, "
        f"Prometheus at {Prometheus().url(stack)}, `make status`, `make logs`."
    )
    return 0 if phase == "Succeeded" else 1
