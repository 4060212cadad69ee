"""Latent Studio. No arguments: the desktop app. A folder: the app, with that project open (or a new project
made from the folder's images). A sub-command (ingest, train, generate, export, ...): the engine's CLI."""
import sys
from pathlib import Path


def main() -> int:
    args = sys.argv[1:]
    folder = args[0] if len(args) == 1 and Path(args[0]).is_dir() else None
    if args and folder is None:
        from engine.cli import main as cli_main

        return cli_main(args)
    from gui.system_check import problem

    missing = problem()
    if missing:  # Qt would abort with a message that names the wrong library
        print(missing, file=sys.stderr)
        return 3
    from gui.app import run

    return run(folder)


if __name__ == "__main__":
    sys.exit(main())
