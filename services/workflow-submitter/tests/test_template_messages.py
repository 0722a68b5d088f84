import json

from simpipe_workflow_submitter.templates import to_message

LISTED = {
    "metadata": {"name": "pipeline", "labels": {"simpipe.io/project": "p1"}},
    "spec": {"entrypoint": "main", "templates": []},
}


def test_a_listed_template_is_answered_as_a_whole_document() -> None:
    # Items of a Kubernetes list come without apiVersion and kind.
    message = to_message(LISTED)
    document = json.loads(message.argo_workflow_template_json)
    assert document["apiVersion"] == "argoproj.io/v1alpha1"
    assert document["kind"] == "WorkflowTemplate"
    assert document["spec"] == LISTED["spec"]
    assert (message.name, message.project_id) == ("pipeline", "p1")


def test_a_template_read_alone_keeps_what_it_says() -> None:
    read = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", **LISTED}
    assert json.loads(to_message(read).argo_workflow_template_json) == read
