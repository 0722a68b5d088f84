"""`python -m simpipe_events provision | check` : the deployment's side of the
event contract (the stream and the durable consumers).

  provision  create the stream and consumers, or bring them to their declaration
  check      exit 1, saying what is wrong, unless they are as declared
"""

import argparse
import asyncio
import os
import sys

import nats

from simpipe_events import stream


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simpipe_events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "command", choices=["provision", "check"], help="what to do (see above)"
    )
    parser.add_argument(
        "--nats-url",
        default=os.environ.get("SIMPIPE_NATS_URL", "nats://127.0.0.1:4222"),
        help="NATS server (default: $SIMPIPE_NATS_URL or nats://127.0.0.1:4222)",
    )
    defaults = stream.StreamLimits()
    parser.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("SIMPIPE_EVENTS_REPLICAS", defaults.replicas)),
        help=f"stream replicas (default: $SIMPIPE_EVENTS_REPLICAS or {defaults.replicas})",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=int(os.environ.get("SIMPIPE_EVENTS_MAX_BYTES", defaults.max_bytes)),
        help=f"stream size limit (default: $SIMPIPE_EVENTS_MAX_BYTES or {defaults.max_bytes})",
    )
    parser.add_argument(
        "--max-age-seconds",
        type=float,
        default=float(os.environ.get("SIMPIPE_EVENTS_MAX_AGE_SECONDS", defaults.max_age_seconds)),
        help="how long events are kept (default: $SIMPIPE_EVENTS_MAX_AGE_SECONDS or 7 days)",
    )
    return parser


async def _run(args: argparse.Namespace) -> int:
    async def quiet(_error: Exception) -> None:
        """nats-py prints each failed try with a traceback; the last one is reported."""

    connection = await nats.connect(
        args.nats_url, connect_timeout=5, max_reconnect_attempts=3, error_cb=quiet
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


def main() -> None:
    args = _parser().parse_args()
    if args.replicas < 1 or args.max_bytes < 1 or args.max_age_seconds <= 0:
        sys.exit("replicas, max bytes and max age must be positive")
    try:
        sys.exit(asyncio.run(_run(args)))
    except (OSError, nats.errors.Error) as error:
        sys.exit(f"{args.nats_url}: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
