"""`python -m simpipe_devstack up|down|status|logs|env|demo|load-image`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from simpipe_devstack.layout import Layout
from simpipe_devstack.processes import StackError
from simpipe_devstack.stack import Stack


def _logs(stack: Stack, component: str | None, follow: bool) -> None:
    files: list[Path]
    if component:
        stack.component(component)  # validates the name
        files = [stack.supervisor.log_path(component)]
        if component == "cluster":
            files += sorted((stack.layout.kwok_workdir / "clusters").glob("*/logs/*.log"))
    else:
        files = sorted(stack.layout.logs.glob("*.log"))
        files += sorted((stack.layout.kwok_workdir / "clusters").glob("*/logs/*.log"))
    existing = [str(f) for f in files if f.exists()]
    if not existing:
        raise StackError("no logs yet: run `make up` first")
    os.execvp("tail", ["tail", "-n", "40", *(["-F"] if follow else []), *existing])


def _load_images(stack: Stack, archives: list[Path], as_json: bool = False) -> None:
    """Imports each archive into the real node's containerd; prints each
    image's name, or (as_json) one JSON list of them all, for scripts such
    as `simpipe image load`."""
    from simpipe_devstack.components.containerd import Containerd
    from simpipe_devstack.node_images import import_archive

    if stack.real_node_problem:
        raise StackError(f"no real node on this machine: {stack.real_node_problem}")
    if not Containerd().is_running(stack):
        raise StackError("the real node is not running: run `make up` first")
    loaded: list[str] = []
    for archive in archives:
        if not archive.is_file():
            raise StackError(f"{archive}: no such file")
        names = import_archive(stack, archive)
        if not names:
            raise StackError(f"{archive}: no image found in it (expected `docker save` or OCI)")
        loaded += names
        if not as_json:
            for name in names:
                print(f"loaded {name}: use it with imagePullPolicy: Never (or IfNotPresent)")
    if as_json:
        print(json.dumps(loaded))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simpipe_devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the local stack (idempotent)")
    sub.add_parser("down", help="stop what `up` started")
    sub.add_parser("status", help="show each component; exit 1 unless all are up")
    logs = sub.add_parser("logs", help="tail logs")
    logs.add_argument("component", nargs="?")
    logs.add_argument("--no-follow", action="store_true")
    sub.add_parser("demo", help="dry-run the example pipeline and print its steps")
    load = sub.add_parser(
        "load-image", help="load image archives (docker save or OCI) into the real node"
    )
    load.add_argument("archives", nargs="+", type=Path)
    load.add_argument(
        "--json", action="store_true", help="print the loaded names as one JSON list (for scripts)"
    )
    images = sub.add_parser("images", help="build the services' images (buildah, no daemon)")
    images.add_argument("services", nargs="*", help="only these (default: every service)")
    sub.add_parser(
        "dashboards", help="write the Grafana dashboards (deploy/kustomize/base/dashboards)"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "dashboards":
            from simpipe_devstack.grafana_dashboards import write

            for path in write():
                print(f"wrote {path}")
            return 0
        if args.command == "images":
            from simpipe_devstack.images import build_images

            return build_images(Layout.from_env(), args.services)
        stack = Stack(Layout.from_env())
        if args.command == "up":
            stack.up()
        elif args.command == "down":
            stack.down()
        elif args.command == "status":
            return 0 if stack.status() else 1
        elif args.command == "logs":
            _logs(stack, args.component, follow=not args.no_follow)
        elif args.command == "load-image":
            _load_images(stack, args.archives, as_json=args.json)
        elif args.command == "demo":
            from simpipe_devstack.demo import run_demo

            return run_demo(stack)
    except (StackError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
