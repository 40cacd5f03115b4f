"""The bundle's entry point: the same `mmstudio` command as the installed package's script."""

import multiprocessing
import sys

from mmstudio.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
