"""Command line: `python -m factory_sync action` (the action step) and `... sandbox ...` (the double).

The GitHub double is not part of the action: it lives beside it in a checkout (sandbox/github_double)
with requirements of its own, and `sandbox` hands off to it from there.
"""

import sys
from pathlib import Path

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"
USAGE = "usage: python -m factory_sync {action | sandbox serve | sandbox demo} ..."


def main(argv: list[str]) -> int:
    if argv[:1] == ["action"]:
        try:
            from factory_sync.main import main as action_main
        except ModuleNotFoundError as exc:  # run by hand without the requirements (action.yml installs them)
            if exc.name and exc.name.split(".")[0] == "factory_sync":
                raise  # our own module: a broken install, not a missing requirement
            print(f"::error::factory-sync cannot start: the package {exc.name!r} is missing; run "
                  "`pip install -r requirements.txt` in its environment and try again.")
            return 2
        return action_main()
    if argv[:1] == ["sandbox"]:
        return sandbox(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


def sandbox(argv: list[str]) -> int:
    if SANDBOX_DIR.is_dir() and str(SANDBOX_DIR) not in sys.path:
        sys.path.insert(0, str(SANDBOX_DIR))
    try:
        from github_double.cli import main as sandbox_main
    except ModuleNotFoundError as exc:
        if exc.name == "github_double" or (exc.name and exc.name.startswith("github_double.")):
            where = "it is not part of the action, only of a checkout of factory-sync"
        else:
            where = f"the package {exc.name!r} is missing"
        print(f"sandbox: the GitHub double cannot start ({where}); in a checkout of factory-sync run "
              "`pip install -r requirements-dev.txt` (or sandbox/requirements.txt) and try again.",
              file=sys.stderr)
        return 2
    return sandbox_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
