"""`python -m core ...`: the headless command line (see core.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
