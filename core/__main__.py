"""`python -m core ...` and the `wcs` command: the headless command line (see core.cli)."""

import os
import sys

from .cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """core.cli.main for a process's own stdout; the `wcs` console script points here too."""
    try:
        code = cli_main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`wcs info f.wcs | head`): stop quietly, as Unix tools do.
        # stdout goes to devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
