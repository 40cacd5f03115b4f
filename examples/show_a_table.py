"""Open the window on a table (or any files and folders), as `mmstudio PATHS` does; with --png,
draw the window off screen into a picture instead (no display needed).

    python examples/show_a_table.py TABLE.parquet [--png OUT.png]
"""

import subprocess
import sys

paths = [a for a in sys.argv[1:] if not a.startswith("--") and not a.endswith(".png")]
if "--png" in sys.argv:
    out = sys.argv[sys.argv.index("--png") + 1]
    done = subprocess.run([sys.executable, "-m", "mmstudio", "screenshot", out, *paths, "--size", "1200x800"])
    sys.exit(done.returncode)
sys.exit(subprocess.run([sys.executable, "-m", "mmstudio", *paths]).returncode)
