"""The example pipeline, shaped like the original SIM-PIPE's
pre-process -> process -> analyse, with simulated durations and usage for
KWOK nodes. Built with hera; the demo and the smoke test submit it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Container, Steps, Workflow, WorkflowsService

from simpipe_devstack.components.cluster import KWOK_NODE_KIND, KWOK_NODE_LABEL
from simpipe_devstack.layout import WORKFLOW_NAMESPACE

# Pod annotations read by deploy/local/manifests/kwok-*.yaml.
SIM_PREFIX = "simpipe.io/sim-"


@dataclass(frozen=True)
class SimulatedStep:
    name: str
    seconds: int
    cpu_millicores: int
    memory_mib: int
    exit_code: int | None = None
    fs_write_kib_per_s: int = 0
    network_receive_kib_per_s: int = 0

    def annotations(self) -> dict[str, str]:
        found = {
            SIM_PREFIX + "duration": f"{self.seconds}s",
            SIM_PREFIX + "cpu": f"{self.cpu_millicores}m",
            SIM_PREFIX + "memory": f"{self.memory_mib}Mi",
            SIM_PREFIX + "fs-write": f"{self.fs_write_kib_per_s}Ki",
            SIM_PREFIX + "network-receive": f"{self.network_receive_kib_per_s}Ki",
        }
        if self.exit_code is not None:
            found[SIM_PREFIX + "exit-code"] = str(self.exit_code)
        return found


EXAMPLE_STEPS = (
    SimulatedStep(
        "pre-process", seconds=4, cpu_millicores=250, memory_mib=64, fs_write_kib_per_s=512
    ),
    SimulatedStep(
        "process", seconds=6, cpu_millicores=1500, memory_mib=512, network_receive_kib_per_s=2048
    ),
    SimulatedStep("analyse", seconds=3, cpu_millicores=500, memory_mib=128),
)


def argo_service(argo_server_url: str) -> WorkflowsService:
    return WorkflowsService(host=argo_server_url, verify_ssl=False, namespace=WORKFLOW_NAMESPACE)


def simulated_pipeline(
    steps: tuple[SimulatedStep, ...],
    service: WorkflowsService,
    generate_name: str = "simpipe-example-",
) -> Workflow:
    """A sequential pipeline of `steps`, scheduled on KWOK nodes."""
    with Workflow(
        generate_name=generate_name,
        namespace=WORKFLOW_NAMESPACE,
        entrypoint="pipeline",
        node_selector={KWOK_NODE_LABEL: KWOK_NODE_KIND},
        workflows_service=service,
        labels={"simpipe.io/example": "true"},
    ) as workflow:
        templates = [
            Container(
                name=step.name,
                image="busybox:1.36",
                # An explicit command: otherwise the controller asks a
                # registry for the image's entrypoint.
                command=["sh", "-c"],
                args=[f"echo {step.name}; sleep {step.seconds}"],
                annotations=step.annotations(),
            )
            for step in steps
        ]
        with Steps(name="pipeline"):
            for template in templates:
                template(name=template.name)
    return workflow
