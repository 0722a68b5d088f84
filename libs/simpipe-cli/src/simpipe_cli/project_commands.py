"""`simpipe project`: the user's projects."""

from __future__ import annotations

from typing import Annotated

import typer

from simpipe_cli.output import emit_json, out, phase, table
from simpipe_cli.session import session

project_app = typer.Typer(no_args_is_help=True, help="Projects: create, list, show, delete.")


@project_app.command("create")
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The project's name.")]
) -> None:
    """Creates a project; prints its id."""
    with session(ctx).client() as client:
        created = client.create_project(name).create_project
    session(ctx).answer(created, created.id)


@project_app.command("list")
def list_(ctx: typer.Context) -> None:
    """The caller's projects."""
    with session(ctx).client() as client:
        projects = client.projects().projects
    if session(ctx).json:
        emit_json(projects)
        return
    out.print(
        table(None, ["id", "name", "created"], [(p.id, p.name, p.created_at) for p in projects])
    )


@project_app.command("show")
def show(
    ctx: typer.Context, project_id: Annotated[str, typer.Argument(help="The project's id.")]
) -> None:
    """A project's dry runs and templates."""
    with session(ctx).client() as client:
        project = client.project(project_id).project
    if session(ctx).json:
        emit_json(project)
        return
    out.print(f"{project.name} ({project.id})")
    out.print(f"templates: {', '.join(t.name for t in project.workflow_templates) or '-'}")
    out.print(
        table(
            "dry runs",
            ["id", "phase", "started", "finished"],
            [
                (r.id, phase(r.status.phase.value), r.status.started_at, r.status.finished_at)
                for r in project.dry_runs
            ],
        )
    )


@project_app.command("delete")
def delete(
    ctx: typer.Context, project_id: Annotated[str, typer.Argument(help="The project's id.")]
) -> None:
    """Deletes a project with its dry runs and templates."""
    with session(ctx).client() as client:
        client.delete_project(project_id)
    session(ctx).answer({"deleted": project_id}, f"deleted project {project_id}")
