"""Command line: `python -m factory_sync action` (the action step) and `... sandbox ...` (the double)."""

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["action"]:
        from factory_sync.sync import main as action_main

        return action_main()
    if argv[:1] == ["sandbox"]:
        from factory_sync.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    print("usage: python -m factory_sync {action | sandbox serve | sandbox demo} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
