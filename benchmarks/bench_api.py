"""API benchmark as a script: the same run as `switchboard bench api`.

Usage: python benchmarks/bench_api.py [--requests N] [--concurrency N] [--json] [--plot FILE.png]
"""

from __future__ import annotations

import sys

from switchboard.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "api", *sys.argv[1:]]))
