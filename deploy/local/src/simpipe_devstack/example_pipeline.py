"""The example pipeline, shaped like the original SIM-PIPE's
pre-process -> process -> analyse, in two forms built with hera: simulated
(durations and usage as annotations, for KWOK nodes) and real (commands
that run on the real node, passing files through S3 as Argo artifacts).
The demo and the integration tests submit them.

The documents say nothing about placement, as users' documents may not:
through SIM-PIPE's API, createDryRun's `placement` (VIRTUAL_NODES for the
simulated form) and `sandbox` options choose the nodes. Tools that create
the Workflow on Argo directly place it with `on_nodes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hera.workflows import Artifact, Container, EmptyDirVolume, Steps, Workflow, WorkflowsService
from hera.workflows.models import SecurityContext, Toleration

from simpipe_common.ownership import stamp
from simpipe_devstack.cluster_policy import container_security_context
from simpipe_devstack.components.cluster import KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.layout import SIMULATION_NAMESPACE, WORKFLOW_NAMESPACE
from simpipe_devstack.node_images import STEP_IMAGE

# Pod annotations read by deploy/local/manifests/kwok-*.yaml.
SIM_PREFIX = "simpipe.io/sim-"
# Unprefixed: SIM-PIPE's policy keeps prefixed label keys (simpipe.io/...)
# for what controllers and the service read.
EXAMPLE_LABELS = {"simpipe-example": "true"}


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


def argo_service(
    argo_server_url: str, token: str | None = None, namespace: str = WORKFLOW_NAMESPACE
) -> WorkflowsService:
    """`token`: a Kubernetes token the Argo server accepts (it runs with
    `--auth-mode=client`), e.g. the stack's `argo_token_file`'s.
    `namespace`: where its Workflows go (SIMULATION_NAMESPACE for those on
    virtual nodes, as the workflow-submitter places them)."""
    return WorkflowsService(
        host=argo_server_url, verify_ssl=False, namespace=namespace, token=token
    )


def restricted() -> SecurityContext:
    """What Pod Security's `restricted` level, enforced on the workflows
    namespace, asks of every container (simulated steps' pods too)."""
    return SecurityContext.parse_obj(container_security_context())


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
        workflows_service=service,
        labels=EXAMPLE_LABELS,
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
                security_context=restricted(),
            )
            for step in steps
        ]
        with Steps(name="pipeline"):
            for template in templates:
                template(name=template.name)
    return workflow


def simulated_fan_out(step: SimulatedStep, width: int) -> dict[str, Any]:
    """`width` parallel copies of `step` (Argo withItems) on KWOK nodes, as
    a Workflow document: a run with many steps for little YAML."""
    document: dict[str, Any] = simulated_pipeline((step,), argo_service("http://unused")).to_dict()
    entry = next(t for t in document["spec"]["templates"] if t["name"] == "pipeline")
    entry["steps"] = [[{"name": step.name, "template": step.name, "withItems": list(range(width))}]]
    return document


def held_workflow(name: str, owner: str) -> dict[str, Any]:
    """A Workflow of `owner`'s on KWOK nodes whose one step lasts 10 minutes,
    stamped as the submitter would (it is created straight in the cluster):
    a run whose phase a benchmark changes at will with spec.suspend."""
    steps = (SimulatedStep("hold", seconds=600, cpu_millicores=10, memory_mib=8),)
    document: dict[str, Any] = simulated_pipeline(steps, argo_service("http://unused")).to_dict()
    document["metadata"] = {"name": name, "namespace": SIMULATION_NAMESPACE}
    stamp(document["metadata"], owner, "")
    return document


# Where a real step finds its input file and leaves its output file: an
# emptyDir volume, as a step runs as a non-root user that may not write to
# its image's directories.
WORK_DIR = "/work"
INPUT_DIR = f"{WORK_DIR}/in"
OUTPUT_DIR = f"{WORK_DIR}/out"


@dataclass(frozen=True)
class RealStep:
    """A step that really runs `script` (/bin/sh -c) on the real node. It
    may read the previous step's output file at INPUT_DIR/<name> and write
    its own at OUTPUT_DIR/<output>; Argo carries the file through S3."""

    name: str
    script: str
    output: str | None = None
    image: str = STEP_IMAGE


EXAMPLE_REAL_STEPS = (
    RealStep(
        "pre-process",
        f"seq 1 100000 > {OUTPUT_DIR}/records.txt; "
        f"echo pre-process: wrote $(wc -l < {OUTPUT_DIR}/records.txt) records",
        output="records.txt",
    ),
    RealStep(
        "process",
        # Burns a core for 5 s, then sums what pre-process wrote.
        "timeout 5 sh -c 'while :; do :; done' || true; "
        f"awk '{{s += $1}} END {{print s}}' {INPUT_DIR}/records.txt > {OUTPUT_DIR}/sum.txt; "
        f"echo process: sum $(cat {OUTPUT_DIR}/sum.txt)",
        output="sum.txt",
    ),
    RealStep(
        "analyse",
        # Holds 256 MiB for 4 s (a string doubled until it is that long).
        'awk \'BEGIN { s = "x"; while (length(s) < 268435456) s = s s; '
        'system("sleep 4"); print "analyse: held " length(s) / 1048576 " MiB" }\'; '
        f"echo analyse: the sum was $(cat {INPUT_DIR}/sum.txt)",
    ),
)


def _artifact(file_name: str, *, path: str | None = None, from_: str | None = None) -> Artifact:
    """The artifact carrying `file_name`, named after it without its extension."""
    return Artifact(name=file_name.partition(".")[0], path=path, from_=from_)


def real_pipeline(
    steps: tuple[RealStep, ...],
    service: WorkflowsService,
    generate_name: str = "simpipe-real-",
    runtime_class: str | None = None,
) -> Workflow:
    """A sequential pipeline of `steps` for the real node, each step reading
    the previous step's output (if any). `runtime_class` (e.g. "gvisor")
    runs every pod of it under that RuntimeClass, for tools that create it
    on Argo directly; through SIM-PIPE's API, createDryRun's `sandbox` does."""
    with Workflow(
        generate_name=generate_name,
        namespace=WORKFLOW_NAMESPACE,
        entrypoint="pipeline",
        # Argo's Workflow has no runtimeClassName field: patch the pods.
        pod_spec_patch=json.dumps({"runtimeClassName": runtime_class}) if runtime_class else None,
        workflows_service=service,
        labels=EXAMPLE_LABELS,
    ) as workflow:
        # (step, its template, the step whose output it reads)
        chain: list[tuple[RealStep, Container, RealStep | None]] = []
        for i, step in enumerate(steps):
            source = steps[i - 1] if i > 0 and steps[i - 1].output else None
            template = Container(
                name=step.name,
                image=step.image,
                # Loaded into the node, never pulled: a missing image fails
                # at once (ErrImageNeverPull) instead of waiting on a
                # registry this machine cannot reach.
                image_pull_policy="Never",
                command=["sh", "-c"],
                args=[f"mkdir -p {OUTPUT_DIR}; {step.script}"],
                security_context=restricted(),
                volumes=[EmptyDirVolume(name="work", mount_path=WORK_DIR)],
            )
            if source and source.output:
                template.inputs = [_artifact(source.output, path=f"{INPUT_DIR}/{source.output}")]
            if step.output:
                template.outputs = [_artifact(step.output, path=f"{OUTPUT_DIR}/{step.output}")]
            chain.append((step, template, source))
        with Steps(name="pipeline"):
            for step, template, source in chain:
                if source and source.output:
                    name = source.output.partition(".")[0]
                    template(
                        name=step.name,
                        arguments=[
                            _artifact(
                                source.output,
                                from_=f"{{{{steps.{source.name}.outputs.artifacts.{name}}}}}",
                            )
                        ],
                    )
                else:
                    template(name=step.name)
    return workflow


def reading_input(step: RealStep, input_path: str) -> dict[str, Any]:
    """A real-node pipeline of the one `step`, which reads the workflow's input
    artifact `input` at `input_path`; its output (if any) stored as is (not
    as a tarball), so that its download is the file itself."""
    workflow: dict[str, Any] = real_pipeline((step,), argo_service("http://unused")).to_dict()
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    pipeline, reader = templates["pipeline"], templates[step.name]
    pipeline["inputs"] = {"artifacts": [{"name": "input"}]}
    pipeline["steps"][0][0]["arguments"] = {
        "artifacts": [{"name": "input", "from": "{{inputs.artifacts.input}}"}]
    }
    reader["inputs"] = {"artifacts": [{"name": "input", "path": input_path}]}
    if step.output:
        reader["outputs"]["artifacts"][0]["archive"] = {"none": {}}
    return workflow


def on_nodes(workflow: Workflow, kind: str) -> Workflow:
    """`workflow` placed as SIM-PIPE's workflow-submitter would place it,
    for tools that create it on Argo directly: on the nodes of `kind`
    (REAL_NODE_KIND, tolerating the real node's taint, or KWOK_NODE_KIND)."""
    workflow.node_selector = {KWOK_NODE_LABEL: kind}
    if kind == REAL_NODE_KIND:
        workflow.tolerations = [
            Toleration(
                key=REAL_NODE_TAINT["key"],
                operator="Equal",
                value=REAL_NODE_TAINT["value"],
                effect=REAL_NODE_TAINT["effect"],
            )
        ]
    return workflow
