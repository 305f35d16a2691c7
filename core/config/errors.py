"""The one error type for bad configuration: the CLI prints it as a single line and exits."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration item is missing or invalid.

    `str(err)` is one line naming the item and the problem, e.g.
    `configuration item "utask-cfg": "admin_usernames" must be a list of strings`.
    """

    def __init__(self, item: str | None, problem: str) -> None:
        self.item = item
        # Multi-line texts (YAML parser messages, tracebacks of libraries) would break the one-line promise.
        self.problem = " ".join(str(problem).split())
        super().__init__(self.problem)

    def __str__(self) -> str:
        if self.item is None:
            return f"configuration: {self.problem}"
        return f'configuration item "{self.item}": {self.problem}'
