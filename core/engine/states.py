"""Step, resolution and task states and their classifications (reference §5.2, §6.1, §6.2)."""

from __future__ import annotations

# Step states (§5.2).
ANY = "ANY"  # wildcard, only meaningful in dependencies
TODO = "TODO"
WAITING = "WAITING"
RUNNING = "RUNNING"
DONE = "DONE"
CLIENT_ERROR = "CLIENT_ERROR"
SERVER_ERROR = "SERVER_ERROR"
FATAL_ERROR = "FATAL_ERROR"
CRASHED = "CRASHED"
PRUNE = "PRUNE"
TO_RETRY = "TO_RETRY"
RETRY_NOW = "RETRY_NOW"
AFTERRUN_ERROR = "AFTERRUN_ERROR"
EXPANDED = "EXPANDED"  # foreach parent whose children have been generated

# The order is the reference's: it is printed in the "reserved state" validation message.
BUILTIN_STATES: tuple[str, ...] = (
    TODO, WAITING, RUNNING, DONE, CLIENT_ERROR, SERVER_ERROR, FATAL_ERROR, CRASHED, PRUNE,
    TO_RETRY, RETRY_NOW, AFTERRUN_ERROR, ANY, EXPANDED,
)
BUILTIN_STATE_SET = frozenset(BUILTIN_STATES)

# Everything but RUNNING, DONE, PRUNE and custom states.
RUNNABLE_STATES = frozenset({
    TODO, SERVER_ERROR, CLIENT_ERROR, FATAL_ERROR, CRASHED, TO_RETRY, RETRY_NOW, AFTERRUN_ERROR,
    EXPANDED, WAITING,
})
# Drive the next_retry computation.
RETRIABLE_STATES = frozenset({SERVER_ERROR, TO_RETRY, AFTERRUN_ERROR})
# States a condition `then` may set, besides the target step's custom states.
CONDITION_SETTABLE_STATES: tuple[str, ...] = (DONE, PRUNE, TO_RETRY, RETRY_NOW, FATAL_ERROR, CLIENT_ERROR)
# Check conditions are only evaluated for results in these states.
AFTER_RUN_STATES = frozenset({DONE, CLIENT_ERROR, AFTERRUN_ERROR})


def is_runnable(state: str) -> bool:
    return state in RUNNABLE_STATES


def is_final(state: str) -> bool:
    """DONE, PRUNE, any custom state (and ANY): not RUNNING and not runnable."""
    return state != RUNNING and state not in RUNNABLE_STATES


def is_retriable(state: str) -> bool:
    return state in RETRIABLE_STATES


def reserved_state_message(state: str) -> str:
    joined = '", "'.join(BUILTIN_STATES)
    return f'Custom state "{state}" is not allowed as it\'s a reserved state. Reserved state are: "{joined}"'


class ResolutionState:
    """Resolution states (§6.1)."""

    TODO = "TODO"
    TO_AUTORUN = "TO_AUTORUN"
    AUTORUNNING = "AUTORUNNING"
    TO_AUTORUN_DELAYED = "TO_AUTORUN_DELAYED"
    RETRY = "RETRY"
    RUNNING = "RUNNING"
    DONE = "DONE"
    ERROR = "ERROR"
    CRASHED = "CRASHED"
    WAITING = "WAITING"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"
    BLOCKED_BADREQUEST = "BLOCKED_BADREQUEST"
    BLOCKED_FATAL = "BLOCKED_FATAL"
    BLOCKED_DEADLOCK = "BLOCKED_DEADLOCK"
    BLOCKED_MAXRETRIES = "BLOCKED_MAXRETRIES"
    BLOCKED_TOCHECK = "BLOCKED_TOCHECK"


class TaskState:
    """Task states (§6.2)."""

    TODO = "TODO"
    DELAYED = "DELAYED"
    RUNNING = "RUNNING"
    BLOCKED = "BLOCKED"
    WAITING = "WAITING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    WONTFIX = "WONTFIX"


TASK_STATES = frozenset({
    TaskState.TODO, TaskState.DELAYED, TaskState.RUNNING, TaskState.BLOCKED, TaskState.WAITING,
    TaskState.DONE, TaskState.CANCELLED, TaskState.WONTFIX,
})

# End-of-run candidate resolution states, highest priority first (§6.3).
END_OF_RUN_PRIORITY: tuple[str, ...] = (
    ResolutionState.CRASHED,
    ResolutionState.BLOCKED_FATAL,
    ResolutionState.BLOCKED_BADREQUEST,
    ResolutionState.ERROR,
    ResolutionState.WAITING,
    ResolutionState.BLOCKED_DEADLOCK,
    ResolutionState.TO_AUTORUN_DELAYED,
)

# Task state implied by the resolution state at the end of a run; None = unchanged.
TASK_STATE_AFTER_RUN: dict[str, str | None] = {
    ResolutionState.DONE: TaskState.DONE,
    ResolutionState.WAITING: TaskState.WAITING,
    ResolutionState.BLOCKED_BADREQUEST: TaskState.BLOCKED,
    ResolutionState.BLOCKED_FATAL: TaskState.BLOCKED,
    ResolutionState.BLOCKED_DEADLOCK: TaskState.BLOCKED,
    ResolutionState.BLOCKED_MAXRETRIES: TaskState.BLOCKED,
    ResolutionState.TO_AUTORUN_DELAYED: TaskState.DELAYED,
    ResolutionState.ERROR: None,
    ResolutionState.CRASHED: None,
}

# A run is refused on these resolution states (§6.3 initialisation), with these BadRequest texts.
RUN_REFUSED: dict[str, str] = {
    ResolutionState.CANCELLED: "Can't run resolution: cancelled",
    ResolutionState.RUNNING: "Can't run resolution: already running",
    ResolutionState.DONE: "Can't run resolution: already done",
}
