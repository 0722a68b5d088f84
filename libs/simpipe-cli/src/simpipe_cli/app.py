"""`simpipe`: SIM-PIPE from the shell. Each command is one GraphQL call or a
few, through simpipe_client; errors are one line on stderr and an exit code
(exit_codes.ExitCode), never a traceback."""

from __future__ import annotations

from typing import Annotated

import typer

from simpipe_cli import config
from simpipe_cli.exit_codes import ExitCode, exit_code_of
from simpipe_cli.output import fail
from simpipe_cli.session import Session, session


def _described(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="SIM-PIPE from the shell: dry-run and simulate Argo pipelines. "
    "Start with `simpipe login`. Exit codes: 0 ok, 1 failed (e.g. the run failed), "
    "2 bad input, 3 not found, 4 not allowed (token), 5 gateway unavailable, 6 conflict.",
)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help="The gateway's GraphQL URL (default: env SIMPIPE_URL, the config file's,"
            " else the local stack's).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="An API token (default: env SIMPIPE_TOKEN, else the config file's, from"
            " `simpipe login`).",
            show_default=False,
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Answer in JSON, for scripts.")] = False,
) -> None:
    ctx.obj = Session(url=url, token=token, json=json)


@app.command()
def login(
    ctx: typer.Context,
    token: Annotated[
        str | None,
        typer.Option(
            "--with-token",
            help="The API token (the GUI's Tokens page); asked for when not given.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Checks a token with the gateway and keeps it, with the URL, in the config file."""
    from simpipe_client import Simpipe

    found = session(ctx).settings()
    given = token or config.given_token(session(ctx).token)
    if given is None:
        given = typer.prompt("API token", hide_input=True)
    with Simpipe(found.url, given) as client:
        user = client.whoami().username
    path = config.save(found.url, given)
    session(ctx).answer(
        {"user": user, "url": found.url, "config": str(path)},
        f"logged in to {found.url} as {user} (token kept in {path})",
    )


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forgets the kept token (the token itself stays valid: revoke it in the GUI)."""
    removed = config.forget()
    session(ctx).answer({"removed": removed}, "logged out" if removed else "not logged in")


@app.command()
def whoami(ctx: typer.Context) -> None:
    """The user the token acts as."""
    with session(ctx).client() as client:
        user = client.whoami().username
    session(ctx).answer({"user": user}, user)


def _mount() -> None:
    from simpipe_cli.files_commands import files_app
    from simpipe_cli.image_commands import image_app
    from simpipe_cli.project_commands import project_app
    from simpipe_cli.run_commands import run_app
    from simpipe_cli.simulation_commands import cluster_app, compare, simulate_app
    from simpipe_cli.template_commands import template_app

    app.add_typer(project_app, name="project")
    app.add_typer(template_app, name="template")
    app.add_typer(run_app, name="run")
    app.add_typer(files_app, name="files")
    app.add_typer(cluster_app, name="cluster")
    app.add_typer(simulate_app, name="simulate")
    app.command()(compare)
    app.add_typer(image_app, name="image")


_mount()


def main() -> None:
    """The console script: every command's errors (the client's, a file's,
    the config's) become one line on stderr and the exit code of their kind."""
    from simpipe_client import GraphQLError, SimpipeError

    try:
        app()
    except GraphQLError as error:
        fail(f"{error.message} ({error.code})" if error.code else str(error), exit_code_of(error))
    except SimpipeError as error:
        fail(str(error), exit_code_of(error))
    except (OSError, config.ConfigError, ValueError) as error:
        fail(_described(error), ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.FAILED)
