"""The resolution state machine and run loop (reference §5, §6.3), storage-agnostic.

Entry point: `await run_resolution(RunContext(...)) -> RunOutcome`; see `runner.py` for the callbacks the
persistence layer implements.
"""

from .actions import FAILURE_STATES, ActionExecutor, Outcome, PluginHostExecutor, failure_state
from .functions import FunctionRegistry
from .resolution import Resolution
from .resources import ResourceLimiter
from .results import RunRefused, check_can_run, recover_crashed, render_result_format
from .retry import next_retry, retry_delay
from .runner import RunContext, RunOutcome, StepChanges, run_resolution
from .states import ResolutionState, TaskState
from .steps import Step, dependency_parts, steps_from_template

__all__ = [
    "FAILURE_STATES", "ActionExecutor", "FunctionRegistry", "Outcome", "PluginHostExecutor", "Resolution",
    "ResolutionState", "ResourceLimiter", "RunContext", "RunOutcome", "RunRefused", "Step", "StepChanges",
    "TaskState", "check_can_run", "dependency_parts", "failure_state", "next_retry", "recover_crashed",
    "render_result_format", "retry_delay", "run_resolution", "steps_from_template",
]
