"""`python -m benchmarks` (`make bench`): every benchmark in turn, each in its own interpreter.

A fresh process per benchmark keeps one's warm workers, pools and garbage from skewing the next. The JSON
lines go to stdout as they come; the exit status is the first failing benchmark's (all of them still run).
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("templating", "sandbox", "api", "engine", "startup")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    status = 0
    for name in names:
        print(f"# benchmarks.{name}", file=sys.stderr, flush=True)
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}"])
        if code and not status:
            print(f"# benchmarks.{name} failed (exit {code})", file=sys.stderr, flush=True)
            status = code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
