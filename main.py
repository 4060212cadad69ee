"""Latent Studio. No arguments: the desktop app. A sub-command (ingest, train, generate, export): the engine's CLI."""
import sys


def main() -> int:
    if len(sys.argv) > 1:
        from engine.cli import main as cli_main

        return cli_main(sys.argv[1:])
    from gui.app import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
