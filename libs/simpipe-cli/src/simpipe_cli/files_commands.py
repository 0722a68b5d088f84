"""`simpipe files`: the user's files in SIM-PIPE's storage (inputs for runs,
what runs wrote), moved straight to and from S3 through presigned URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simpipe_cli.output import emit_json, out, size, table
from simpipe_cli.session import session
from simpipe_cli.transfer_progress import transfer_bar

files_app = typer.Typer(no_args_is_help=True, help="Files: put, get, ls, rm.")

BucketOption = Annotated[
    str | None, typer.Option("--bucket", "-b", help="A bucket of yours (default: your uploads).")
]


@files_app.command("put")
def put(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The local file.")],
    key: Annotated[str | None, typer.Argument(help="Its key (default: the file's name).")] = None,
    bucket: BucketOption = None,
) -> None:
    """Uploads a file (multipart, with progress)."""
    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    with (
        session(ctx).client() as client,
        transfer_bar(f"put {path.name}", path.stat().st_size) as progress,
    ):
        artifact = client.upload_file(path, key, bucket, progress=progress)
    session(ctx).answer(artifact, f"{artifact.bucket_name}/{artifact.key} ({size(artifact.size)})")


@files_app.command("get")
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The file's key.")],
    dest: Annotated[
        Path | None, typer.Argument(help="Where to write it (default: its name, here).")
    ] = None,
    bucket: BucketOption = None,
) -> None:
    """Downloads a file."""
    target = dest or Path(Path(key).name)
    if target.is_dir():
        target = target / Path(key).name
    with session(ctx).client() as client, transfer_bar(f"get {key}", None) as progress:
        written = client.download_file(key, target, bucket, progress=progress)
    session(ctx).answer(
        {"path": str(target), "bytes": written}, f"wrote {target} ({size(written)})"
    )


@files_app.command("ls")
def ls(
    ctx: typer.Context,
    prefix: Annotated[str | None, typer.Argument(help="Only keys starting with this.")] = None,
    bucket: BucketOption = None,
) -> None:
    """Lists your files."""
    with session(ctx).client() as client:
        found = client.artifacts(bucket_name=bucket, prefix=prefix).artifacts
    if session(ctx).json:
        emit_json(found)
        return
    out.print(
        table(
            None, ["bucket", "key", "size"], [(a.bucket_name, a.key, size(a.size)) for a in found]
        )
    )


@files_app.command("rm")
def rm(
    ctx: typer.Context,
    keys: Annotated[list[str], typer.Argument(help="The files' keys.")],
    bucket: BucketOption = None,
) -> None:
    """Deletes files (a key that does not exist counts as deleted)."""
    with session(ctx).client() as client:
        named = bucket
        if named is None:
            # Your uploads' bucket, as the gateway names it: the listing of
            # one of the keys (not of every file with its download URL).
            listed = client.artifacts(prefix=keys[0]).artifacts
            named = listed[0].bucket_name if listed else None
        if named is not None:
            client.delete_artifacts(named, keys)
    session(ctx).answer(
        {"deleted": keys, "bucket": named},
        f"deleted {len(keys)} file(s)" + (f" from {named}" if named else ""),
    )
