"""The WorkflowTaskResult Argo's controller waits for, as argoexec writes it
(workflow/executor/taskresult.go): named after the step's node id, labelled
with its workflow (the controller's informer selects on that label and its
instance id) and `report-outputs-completed: "true"` (the executor's last
word: the outputs are all there), owned by the Workflow so it goes with it.
Pure."""

from __future__ import annotations

from typing import Any

from simpipe_kwok_scaler.emulation.pods import LABEL_INSTANCE_ID, LABEL_WORKFLOW, StepPod

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflowtaskresults"
LABEL_OUTPUTS_COMPLETED = "workflows.argoproj.io/report-outputs-completed"
# Ours: which results no executor wrote (a reader can tell them apart).
LABEL_EMULATED = "simpipe.io/emulated"


def task_result(pod: StepPod, outputs: dict[str, Any]) -> dict[str, Any]:
    labels = {
        LABEL_WORKFLOW: pod.workflow,
        LABEL_OUTPUTS_COMPLETED: "true",
        LABEL_EMULATED: "true",
    }
    if pod.instance_id:
        labels[LABEL_INSTANCE_ID] = pod.instance_id
    document: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WorkflowTaskResult",
        "metadata": {
            "name": pod.node_id,
            "namespace": pod.namespace,
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "Workflow",
                    "name": pod.workflow,
                    "uid": pod.workflow_uid,
                }
            ],
        },
    }
    if outputs:
        document["outputs"] = outputs
    return document
