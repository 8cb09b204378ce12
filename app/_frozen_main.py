"""Entry point of the PyInstaller bundle (build_installer.spec): the ``wcs-studio`` executable.

The same as ``python -m app``; a separate file because PyInstaller runs its entry script as
``__main__`` outside the package, where ``app/__main__.py``'s relative imports would fail.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start a second app
    from app.__main__ import main

    sys.exit(main())
