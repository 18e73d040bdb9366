"""Routing benchmark as a script: the same run as `switchboard bench routing`.

Usage: python benchmarks/bench_routing.py [--calls N] [--json] [--plot FILE.png] ...
"""

from __future__ import annotations

import sys

from switchboard.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "routing", *sys.argv[1:]]))
