"""The in-memory step of a resolution and its JSON shape (reference §5.1).

`Step.from_json` accepts the persisted resolution blob entry (or a template step after normalisation);
`Step.to_json` gives back the µTask key order and omit-empty rules, so the API can serialise it as is.
Action, pre-hook and conditions stay the plain JSON-shaped dicts the template loader produced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import states

ZERO_TIME_TEXT = "0001-01-01T00:00:00Z"

FOREACH_PARALLEL = "parallel"
FOREACH_SEQUENCE = "sequence"

RETRY_SECONDS = "seconds"
RETRY_MINUTES = "minutes"
RETRY_HOURS = "hours"

DEFAULT_MAX_RETRIES = 10000

# A step keeps the log lines of its last execution (`logs`, ours, not µTask's), up to these.
LOGS_MAX_LINES = 200
LOGS_MAX_BYTES = 64 * 1024


def cap_logs(lines: Any, dropped: int = 0) -> list[str]:
    """The last LOGS_MAX_LINES of `lines` within LOGS_MAX_BYTES (UTF-8), after a first line saying how many
    earlier ones were dropped (counting `dropped`, those left out before `lines`). A last line longer than
    that keeps its end."""
    if not lines and not dropped:
        return []
    items = [str(line) for line in lines or ()]
    kept: list[str] = []
    room = LOGS_MAX_BYTES
    for text in reversed(items):
        if len(kept) == LOGS_MAX_LINES:
            break
        data = text.encode("utf-8", "surrogatepass")
        if len(data) + 1 > room:
            if not kept:
                kept.append("…" + data[-(room - 4):].decode("utf-8", "ignore"))
            break
        kept.append(text)
        room -= len(data) + 1
    kept.reverse()
    dropped += len(items) - len(kept)
    return [f"[{dropped} earlier log lines dropped]", *kept] if dropped > 0 else kept


def dependency_parts(dep: str) -> tuple[str, list[str]]:
    """`name` → (name, [DONE]); `name:S1,S2` → (name, [S1, S2]) (split on the first `:`, then `,`)."""
    name, sep, rest = dep.partition(":")
    if not sep:
        return name, [states.DONE]
    return name, rest.split(",")


def format_go_time(value: datetime | None) -> str:
    """RFC 3339 with trailing-zero-trimmed fractional seconds, like Go's time.Time JSON."""
    if value is None:
        return ZERO_TIME_TEXT
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{value.microsecond:06d}".rstrip("0")
    if frac:
        base += "." + frac
    offset = value.utcoffset()
    if not offset:
        return base + "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{base}{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def parse_go_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    if not text or text.startswith("0001-01-01T00:00:00"):
        return None
    text = text.replace("Z", "+00:00")
    # Python keeps microseconds only: drop extra nanosecond digits.
    head, dot, tail = text.partition(".")
    if dot:
        digits = ""
        rest = ""
        for i, ch in enumerate(tail):
            if not ch.isdigit():
                rest = tail[i:]
                break
            digits += ch
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    return datetime.fromisoformat(text)


class Step:
    """One step of a resolution; attributes are named after the JSON keys."""

    __slots__ = (
        "name", "description", "idempotent", "action", "pre_hook", "json_schema", "output", "metadata",
        "children", "error", "state", "retry_pattern", "try_count", "max_retries", "last_run",
        "execution_delay", "dependencies", "custom_states", "conditions", "foreach", "foreach_strategy",
        "children_steps", "children_steps_map", "item", "resources", "tags", "logs",
        "extra", "skipped", "_deps",
    )

    def __init__(self, name: str = "", *, action: dict | None = None, state: str = states.TODO) -> None:
        self.name = name
        self.description = ""
        self.idempotent = False
        self.action: dict = action if action is not None else {"type": "", "configuration": None, "output": None}
        self.pre_hook: dict | None = None
        self.json_schema: Any = None
        self.output: Any = None
        self.metadata: Any = None
        self.children: list | None = None
        self.error = ""
        self.state = state
        self.retry_pattern = ""
        self.try_count = 0
        self.max_retries = 0
        self.last_run: datetime | None = None
        self.execution_delay = 0  # nanoseconds, like Go's time.Duration
        self.dependencies: list[str] = []
        self.custom_states: list[str] = []
        self.conditions: list[dict] = []
        self.foreach = ""
        self.foreach_strategy = ""
        self.children_steps: list[str] | None = None
        self.children_steps_map: dict[str, bool] | None = None
        self.item: Any = None  # a foreach child's element; None = not a child (as in µTask)
        self.resources: list[str] | None = None
        self.tags: dict[str, str] | None = None
        # The log lines of the last execution (capped: `cap_logs`); shown only when there are some.
        self.logs: list[str] = []
        self.extra: dict[str, Any] = {}  # unknown keys, kept so a round trip loses nothing
        # Set by a met skip condition; lives for the run, never persisted (µTask's `skipped`).
        self.skipped = False
        self._deps: list[tuple[str, list[str]]] | None = None

    # -- classification -------------------------------------------------------------------------
    def is_runnable(self) -> bool:
        return self.state in states.RUNNABLE_STATES

    def is_final(self) -> bool:
        return self.state != states.RUNNING and self.state not in states.RUNNABLE_STATES

    def is_retriable(self) -> bool:
        return self.state in states.RETRIABLE_STATES

    def is_child(self) -> bool:
        return self.item is not None

    def is_foreach(self) -> bool:
        return bool(self.foreach)

    @property
    def parsed_dependencies(self) -> list[tuple[str, list[str]]]:
        """Dependencies split into (step, states), cached until `set_dependencies`."""
        if self._deps is None:
            self._deps = [dependency_parts(d) for d in self.dependencies]
        return self._deps

    def set_dependencies(self, deps: list[str]) -> None:
        self.dependencies = deps
        self._deps = None

    # -- JSON -----------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: dict[str, Any], name: str | None = None) -> Step:
        st = cls()
        known = _FIELDS
        for key, value in data.items():
            if key not in known:
                st.extra[key] = value
        st.name = name if name is not None else (data.get("name") or "")
        st.description = data.get("description") or ""
        st.idempotent = bool(data.get("idempotent") or False)
        st.action = _normalise_executor(data.get("action")) or {"type": "", "configuration": None, "output": None}
        st.pre_hook = _normalise_executor(data.get("pre_hook"))
        st.json_schema = data.get("json_schema")
        st.output = data.get("output")
        st.metadata = data.get("metadata")
        children = data.get("children")
        st.children = list(children) if children else None
        st.error = data.get("error") or ""
        st.state = data.get("state") or ""
        st.retry_pattern = data.get("retry_pattern") or ""
        st.try_count = int(data.get("try_count") or 0)
        st.max_retries = int(data.get("max_retries") or 0)
        st.last_run = parse_go_time(data.get("last_run"))
        st.execution_delay = int(data.get("execution_delay") or 0)
        st.dependencies = list(data.get("dependencies") or [])
        st.custom_states = list(data.get("custom_states") or [])
        st.conditions = [dict(c) for c in (data.get("conditions") or [])]
        st.foreach = data.get("foreach") or ""
        st.foreach_strategy = data.get("foreach_strategy") or ""
        cs = data.get("children_steps")
        st.children_steps = list(cs) if cs is not None else None
        csm = data.get("children_steps_map")
        st.children_steps_map = dict(csm) if csm is not None else None
        st.item = data.get("item")
        res = data.get("resources")
        st.resources = list(res) if res is not None else None
        tags = data.get("tags")
        st.tags = dict(tags) if tags is not None else None
        logs = data.get("logs")
        st.logs = [str(line) for line in logs] if isinstance(logs, list) else []
        return st

    def to_json(self) -> dict[str, Any]:
        """The §5.1 key order with Go's omitempty rules."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "idempotent": self.idempotent,
            "action": executor_to_json(self.action),
        }
        if self.pre_hook is not None:
            out["pre_hook"] = executor_to_json(self.pre_hook)
        if self.json_schema is not None:
            out["json_schema"] = self.json_schema
        if self.output is not None:
            out["output"] = self.output
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.children:
            out["children"] = self.children
        if self.error:
            out["error"] = self.error
        if self.state:
            out["state"] = self.state
        if self.retry_pattern:
            out["retry_pattern"] = self.retry_pattern
        if self.try_count:
            out["try_count"] = self.try_count
        if self.max_retries:
            out["max_retries"] = self.max_retries
        out["last_run"] = format_go_time(self.last_run)
        if self.execution_delay:
            out["execution_delay"] = self.execution_delay
        if self.dependencies:
            out["dependencies"] = list(self.dependencies)
        if self.custom_states:
            out["custom_states"] = list(self.custom_states)
        if self.conditions:
            out["conditions"] = [condition_to_json(c) for c in self.conditions]
        if self.foreach:
            out["foreach"] = self.foreach
        out["foreach_strategy"] = self.foreach_strategy
        if self.children_steps:
            out["children_steps"] = list(self.children_steps)
        if self.children_steps_map:
            out["children_steps_map"] = dict(self.children_steps_map)
        if self.item is not None:
            out["item"] = self.item
        out["resources"] = list(self.resources) if self.resources is not None else None
        out["tags"] = dict(self.tags) if self.tags is not None else None
        if self.logs:  # ours: last, and only when there are some (µTask's shape otherwise)
            out["logs"] = list(self.logs)
        return out

    def copy(self) -> Step:
        """A copy sharing action/conditions (like µTask's struct copy) but owning its dependency list."""
        return _copy_step(self)

    def __repr__(self) -> str:
        return f"Step({self.name!r}, state={self.state!r})"


def _make_copier():
    # One generated function assigning every slot: several times faster than a getattr/setattr loop,
    # and the copy happens once per execution attempt.
    lines = ["def _copy_step(src):", "    dst = Step.__new__(Step)"]
    for slot in Step.__slots__:
        if slot == "dependencies":
            lines.append("    dst.dependencies = list(src.dependencies)")
        elif slot == "_deps":
            lines.append("    dst._deps = src._deps")
        else:
            lines.append(f"    dst.{slot} = src.{slot}")
    lines.append("    return dst")
    namespace: dict[str, Any] = {"Step": Step}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from our own slot names only
    return namespace["_copy_step"]


_copy_step = _make_copier()

_FIELDS = frozenset({
    "name", "description", "idempotent", "action", "pre_hook", "json_schema", "output", "metadata",
    "children", "error", "state", "retry_pattern", "try_count", "max_retries", "last_run",
    "execution_delay", "dependencies", "custom_states", "conditions", "foreach", "foreach_strategy",
    "children_steps", "children_steps_map", "item", "resources", "tags", "logs",
})

_OUTPUT_STRATEGIES = {0: "none", 1: "merge", 2: "template"}


def _normalise_executor(ex: Any) -> dict | None:
    """A plain dict executor; `base_output` (when not null) replaces `output` with a merge (§5.1)."""
    if ex is None:
        return None
    if not isinstance(ex, dict):
        ex = _obj_to_dict(ex)
    ex = dict(ex)
    ex.setdefault("type", "")
    ex.setdefault("configuration", None)
    base_output = ex.get("base_output")
    if base_output is not None:
        ex["output"] = {"format": base_output, "strategy": "merge"}
    output = ex.get("output")
    if output is not None:
        output = dict(output) if isinstance(output, dict) else _obj_to_dict(output)
        strategy = output.get("strategy", "none")
        if isinstance(strategy, int):
            strategy = _OUTPUT_STRATEGIES.get(strategy, "none")
        output["strategy"] = strategy or "none"
        output.setdefault("format", None)
        ex["output"] = output
    else:
        ex["output"] = None
    return ex


def _obj_to_dict(obj: Any) -> dict:
    """Tolerate model objects from the template loader: their Go JSON form first, else pydantic/dataclasses."""
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    for attr in ("model_dump", "dict"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            try:
                return fn(by_alias=True)
            except TypeError:
                return fn()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return dict(vars(obj))


def executor_to_json(ex: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ex.get("type", "")}
    if ex.get("base_configuration"):
        out["base_configuration"] = ex["base_configuration"]
    out["configuration"] = ex.get("configuration")
    output = ex.get("output")
    out["output"] = {"format": output.get("format"), "strategy": output.get("strategy", "none")} if output else None
    if ex.get("base_output") is not None:
        out["base_output"] = ex["base_output"]
    return out


def condition_to_json(c: dict) -> dict[str, Any]:
    return {
        "type": c.get("type", ""),
        "if": [assert_to_json(a) for a in (c.get("if") or [])] if c.get("if") is not None else None,
        "then": c.get("then"),
        "final": bool(c.get("final", False)),
        "foreach": c.get("foreach", "") or "",
        "message": c.get("message", "") or "",
    }


def assert_to_json(a: dict) -> dict[str, Any]:
    return {
        "value": a.get("value", ""),
        "operator": a.get("operator", ""),
        "expected": a.get("expected", ""),
        "list_separator": a.get("list_separator", "") or "",
        "message": a.get("message", "") or "",
    }


def steps_from_template(template_steps: dict[str, Any]) -> dict[str, Step]:
    """Resolution creation: every template step named after its key, in state TODO."""
    out: dict[str, Step] = {}
    for name, data in template_steps.items():
        if not isinstance(data, dict):
            data = _obj_to_dict(data)
        st = Step.from_json(data, name=name)
        st.state = states.TODO
        if st.foreach:
            if not st.foreach_strategy:
                st.foreach_strategy = FOREACH_PARALLEL
            # Validation normalises a foreach step's skip conditions without `foreach` to `children` (§5.4).
            for cond in st.conditions:
                if cond.get("type") == "skip" and not cond.get("foreach"):
                    cond["foreach"] = "children"
        out[name] = st
    return out
