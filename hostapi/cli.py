"""The `utask` command line."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("utask: not yet wired", file=sys.stderr)
    return 1
