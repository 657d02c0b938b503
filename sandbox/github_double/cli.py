"""`python -m factory_sync sandbox ...`: serve the GitHub double, or run the demo against it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from github_double import portfolio_world
from github_double.demo_world import DEMO_INSTALLATION_ID, STUDY_REPO, build_demo_world
from github_double.server import GitHubDouble
from github_double.state_file import StateFileError, load_state

# What the example study workflows give their job (`permissions:`), and so their GITHUB_TOKEN.
WORKFLOW_PERMISSIONS = {"issues": "read", "contents": "read"}


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from github_double.demo import (
            main as demo_main,  # the demo drives the product; load it only here
        )

        return demo_main(args)
    return serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m factory_sync sandbox",
                                     description="A stateful stand-in for GitHub on loopback.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the GitHub double until interrupted")
    serve_cmd.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    world_arg = serve_cmd.add_mutually_exclusive_group()
    world_arg.add_argument("--state", type=Path, help="JSON state file (default: the demo world)")
    world_arg.add_argument("--portfolio", type=int, metavar="N",
                           help="the portfolio world with N studies (the resync benchmark's)")
    serve_cmd.add_argument("--seed", type=int, default=1, help="the portfolio world's seed")
    serve_cmd.add_argument("--app-key-out", type=Path,
                           help="write the App's PEM private key here (mode 0600)")
    serve_cmd.add_argument("--workflow-token-out", type=Path,
                           help="write here (mode 0600) the token a workflow run in --workflow-repo gets "
                                "(GITHUB_TOKEN, with issues: read and contents: read)")
    serve_cmd.add_argument("--workflow-repo", default=STUDY_REPO, metavar="OWNER/NAME",
                           help=f"the repository of --workflow-token-out (default {STUDY_REPO})")
    commands.add_parser("demo", help="run factory-sync against a fresh double and show the result")
    return parser


def serve(args: argparse.Namespace) -> int:
    if args.portfolio is not None:
        world, key = portfolio_world.build_portfolio_world(args.portfolio, args.seed)
        summary = (f"portfolio world: App 1, installation {portfolio_world.INSTALLATION_ID} on "
                   f"{portfolio_world.FACTORY_REPO} and {args.portfolio} studies (seed {args.seed})")
    elif args.state is None:
        world, key = build_demo_world()
        summary = (f"demo world: App 1, installation {DEMO_INSTALLATION_ID} on ohdsi-demo/Factory "
                   "and ohdsi-demo/DemoStudy")
    else:
        try:
            world, key = load_state(args.state)
        except StateFileError as exc:
            print(f"sandbox serve: bad state file {args.state}: {exc}", file=sys.stderr)
            return 2
        summary = f"state from {args.state}: {len(world.repositories)} repositories"
    if args.app_key_out is not None:
        if key is None:
            print("sandbox serve: --app-key-out needs an App with private_key_path in the state file",
                  file=sys.stderr)
            return 2
        _write_secret(args.app_key_out, key)
    if args.workflow_token_out is not None:
        if world.repo(args.workflow_repo) is None:
            print(f"sandbox serve: --workflow-repo {args.workflow_repo} is not a repository of the world "
                  "served", file=sys.stderr)
            return 2
        token = world.mint_workflow_token(args.workflow_repo, dict(WORKFLOW_PERMISSIONS))
        _write_secret(args.workflow_token_out, token)
    double = GitHubDouble(world, port=args.port, quiet=False)
    double.reset(world, key)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        double.start()
    except OSError as exc:
        print(f"sandbox serve: cannot listen on port {args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(double.url, flush=True)
    print(f"sandbox serve: {summary}; stop with Ctrl-C", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    double.stop()
    return 0


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        handle.write(text)
