"""``python -m app.demo``.

The guard matters: synthesis starts worker processes by forkserver, which import the main
module again; without it each would start a demo of its own.
"""

import sys

from app.demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
