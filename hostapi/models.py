"""Request bodies of the REST API (reference §7.4), as µTask's handler structs.

They describe the bodies in the OpenAPI document; `utask.hostapi.http.body.parse_body` fills them with
encoding/json's rules (no pydantic validation: numbers stay exact, `required` is not enforced, as in
µTask). `__go_name__` is the Go struct name used in type-mismatch messages.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")
    __go_name__: ClassVar[str] = ""


class CreateTaskIn(_Body):
    __go_name__: ClassVar[str] = "createTaskIn"
    template_name: str | None = None
    input: dict[str, Any] | None = None
    comment: str | None = None
    watcher_usernames: list[str] | None = None
    watcher_groups: list[str] | None = None
    resolver_usernames: list[str] | None = None
    resolver_groups: list[str] | None = None
    delay: str | None = None
    tags: dict[str, str] | None = None


class UpdateTaskIn(_Body):
    __go_name__: ClassVar[str] = "updateTaskIn"
    input: dict[str, Any] | None = None
    watcher_usernames: list[str] | None = None
    watcher_groups: list[str] | None = None
    tags: dict[str, str] | None = None


class CreateBatchIn(_Body):
    __go_name__: ClassVar[str] = "createBatchIn"
    template_name: str | None = None
    common_input: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] | None = None
    comment: str | None = None
    watcher_usernames: list[str] | None = None
    watcher_groups: list[str] | None = None
    tags: dict[str, str] | None = None


class BatchOut(BaseModel):
    id: str


class CommentIn(_Body):
    __go_name__: ClassVar[str] = "createCommentIn"
    content: str | None = None


class CreateResolutionIn(_Body):
    __go_name__: ClassVar[str] = "createResolutionIn"
    task_id: str | None = None
    resolver_inputs: dict[str, Any] | None = None
    start_over: bool | None = None


class UpdateResolutionIn(_Body):
    __go_name__: ClassVar[str] = "updateResolutionIn"
    steps: dict[str, Any] | None = None
    resolver_inputs: dict[str, Any] | None = None


class StepStateIn(_Body):
    __go_name__: ClassVar[str] = "updateResolutionStepStateIn"
    state: str | None = None


class StepIn(_Body):
    """A full step object (reference §5.1); kept as sent."""

    __go_name__: ClassVar[str] = "Step"
    model_config = ConfigDict(extra="allow")
    description: str | None = None
    state: str | None = None
