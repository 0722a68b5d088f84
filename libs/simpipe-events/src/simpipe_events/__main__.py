"""`python -m simpipe_events provision | check | asyncapi | lock` : the
deployment's side of the event contract (the stream and the durable
consumers), and the contract's documents.

  provision  create the stream and consumers, or bring them to their declaration
  check      exit 1, saying what is wrong, unless they are as declared
  asyncapi   print the AsyncAPI document of the events (`make asyncapi`)
  lock       print events.proto's compatibility lock; with --update PATH, record
             additions in that lock and refuse any other change (`make events-lock`)
"""

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import nats

from simpipe_events import asyncapi, compatibility, stream
from simpipe_events.inboxes import inbox_prefix


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simpipe_events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    deployment = argparse.ArgumentParser(add_help=False)
    deployment.add_argument(
        "--nats-url",
        default=os.environ.get("SIMPIPE_NATS_URL", "nats://127.0.0.1:4222"),
        help="NATS server (default: $SIMPIPE_NATS_URL or nats://127.0.0.1:4222)",
    )
    deployment.add_argument(
        "--nats-user",
        default=os.environ.get("SIMPIPE_NATS_USER", ""),
        help="NATS user, one that may manage the stream (default: $SIMPIPE_NATS_USER);"
        " its password is read from $SIMPIPE_NATS_PASSWORD only, never the command line",
    )
    defaults = stream.StreamLimits()
    deployment.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("SIMPIPE_EVENTS_REPLICAS", defaults.replicas)),
        help=f"stream replicas (default: $SIMPIPE_EVENTS_REPLICAS or {defaults.replicas})",
    )
    deployment.add_argument(
        "--max-bytes",
        type=int,
        default=int(os.environ.get("SIMPIPE_EVENTS_MAX_BYTES", defaults.max_bytes)),
        help=f"stream size limit (default: $SIMPIPE_EVENTS_MAX_BYTES or {defaults.max_bytes})",
    )
    deployment.add_argument(
        "--max-age-seconds",
        type=float,
        default=float(os.environ.get("SIMPIPE_EVENTS_MAX_AGE_SECONDS", defaults.max_age_seconds)),
        help="how long events are kept (default: $SIMPIPE_EVENTS_MAX_AGE_SECONDS or 7 days)",
    )
    # Each is described in the module's docstring, shown above.
    commands.add_parser("provision", parents=[deployment])
    commands.add_parser("check", parents=[deployment])
    document = commands.add_parser("asyncapi")
    document.add_argument(
        "--server", help="the NATS URL subscribers connect to, for `servers` (none by default)"
    )
    lock = commands.add_parser("lock")
    lock.add_argument(
        "--update", type=Path, metavar="PATH", help="record additions in this lock file"
    )
    return parser


async def _run(args: argparse.Namespace) -> int:
    async def quiet(_error: Exception) -> None:
        """nats-py prints each failed try with a traceback; the last one is reported."""

    user: dict[str, str] = {}
    if args.nats_user:
        user = {
            "user": args.nats_user,
            "password": os.environ.get("SIMPIPE_NATS_PASSWORD", ""),
            "inbox_prefix": inbox_prefix(args.nats_user),
        }
    connection = await nats.connect(
        args.nats_url, connect_timeout=5, max_reconnect_attempts=3, error_cb=quiet, **user
    )
    try:
        js = connection.jetstream()
        if args.command == "check":
            try:
                await stream.check(js, stream.DURABLE_CONSUMERS)
            except stream.StreamProblemError as error:
                print(f"{args.nats_url}: {error}", file=sys.stderr)
                return 1
            print(f"{args.nats_url}: stream {stream.STREAM} and its consumers are as declared")
            return 0
        limits = stream.StreamLimits(args.max_age_seconds, args.max_bytes, args.replicas)
        done = await stream.provision(js, limits)
        print(f"{args.nats_url}: " + ("; ".join(done) if done else "already as declared"))
        return 0
    finally:
        await connection.close()


def _lock(update: Path | None) -> int:
    current = compatibility.snapshot()
    if update is None:
        print(compatibility.render(current), end="")
        return 0
    if update.exists():
        locked = compatibility.read(update)
        problems = compatibility.problems(locked, current)
        if problems:
            print(f"{update}: events.proto changed more than by additions:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print(compatibility.RULE, file=sys.stderr)
            return 1
        if locked == current:
            print(f"{update}: up to date")
            return 0
    update.write_text(compatibility.render(current))
    print(f"{update}: recorded")
    return 0


def main() -> None:
    args = _parser().parse_args()
    if args.command == "asyncapi":
        try:
            print(json.dumps(asyncapi.document(args.server), indent=2, ensure_ascii=False))
        except ValueError as error:
            sys.exit(str(error))
        return
    if args.command == "lock":
        sys.exit(_lock(args.update))
    if args.replicas < 1 or args.max_bytes < 1 or args.max_age_seconds <= 0:
        sys.exit("replicas, max bytes and max age must be positive")
    try:
        sys.exit(asyncio.run(_run(args)))
    except (OSError, nats.errors.Error) as error:
        sys.exit(f"{args.nats_url}: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
