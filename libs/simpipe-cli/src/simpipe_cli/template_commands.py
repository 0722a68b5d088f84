"""`simpipe template`: WorkflowTemplates to dry-run and simulate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simpipe_cli.documents import DocumentError, read_document
from simpipe_cli.output import emit_json, out
from simpipe_cli.session import session

template_app = typer.Typer(no_args_is_help=True, help="WorkflowTemplates: upload, show, delete.")


@template_app.command("upload")
def upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A WorkflowTemplate, YAML or JSON.")],
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="The project's id.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Its name (default: metadata.name).")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a template of that name.")] = False,
) -> None:
    """Uploads a WorkflowTemplate; prints its name."""
    from simpipe_client import ConflictError
    from simpipe_client.generated_sync.input_types import (
        CreateWorkflowTemplateInput,
        UpdateWorkflowTemplateInput,
    )

    document = read_document(file)
    if document["kind"] != "WorkflowTemplate":
        raise DocumentError(
            f"{file}: a {document['kind']}, not a WorkflowTemplate (dry-run it with `simpipe run start {file}`)"
        )
    with session(ctx).client() as client:
        try:
            created = client.create_workflow_template(
                CreateWorkflowTemplateInput(
                    argo_workflow_template=document, name=name, project_id=project
                )
            ).create_workflow_template
        except ConflictError:
            if not replace:
                raise
            stored = name or str((document.get("metadata") or {}).get("name", ""))
            created = client.update_workflow_template(
                UpdateWorkflowTemplateInput(
                    name=stored, argo_workflow_template=document, project_id=project
                )
            ).update_workflow_template
    if session(ctx).json:
        emit_json(
            {"name": created.name, "project": created.project.id if created.project else None}
        )
    else:
        out.print(created.name)


@template_app.command("show")
def show(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The template's name.")]
) -> None:
    """A template's document (JSON)."""
    from simpipe_client import errors

    with session(ctx).client() as client:
        found = client.workflow_template(name).workflow_template
    if found is None:
        raise errors.not_found(f"no template {name!r}")
    emit_json(found.argo_workflow_template)


@template_app.command("delete")
def delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The template's name.")]
) -> None:
    """Deletes a template."""
    with session(ctx).client() as client:
        client.delete_workflow_template(name)
    session(ctx).answer({"deleted": name}, f"deleted template {name}")
