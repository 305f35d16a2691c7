"""Reading template files (§1.1): `*.yaml` files of each directory, non-recursively, in name order.

Only parsing and normalisation happen here; validation (`validate_template`) and the database upsert
are separate so the engine can register every discovered name before validating (templates may
reference each other through subtask/batch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from utask.core.templates.decode import ConversionError, DecodeError, decode_template
from utask.core.templates.models import TaskTemplate
from utask.core.templates.yamlload import YAMLSyntaxError, load_yaml


class TemplateLoadError(ValueError):
    """A template file cannot be read or decoded (message as µTask's start-up error)."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


@dataclass
class LoadedTemplate:
    path: str
    template: TaskTemplate


def parse_template(text: str | bytes) -> TaskTemplate:
    """YAML (or JSON) text → normalised TaskTemplate. Raises ValueError with sigs.k8s.io/yaml's text."""
    try:
        data = load_yaml(text)
    except YAMLSyntaxError as exc:
        raise ValueError(f"error converting YAML to JSON: {exc}") from None
    try:
        tpl = decode_template(data)
    except ConversionError as exc:
        raise ValueError(str(exc)) from None
    except DecodeError as exc:
        raise ValueError(f"error unmarshaling JSON: while decoding JSON: {exc}") from None
    tpl.normalize()
    return tpl


def template_files(directory: str) -> list[str]:
    """Regular `*.yaml` files directly in `directory` (`.yml` ignored), sorted like Go's ReadDir."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise TemplateLoadError(f"failed to open template directory {directory}: {_go_os_error('open', directory, exc)}") from None
    return [
        os.path.join(directory, n)
        for n in names
        if n.endswith(".yaml") and not os.path.isdir(os.path.join(directory, n))
    ]


def _go_os_error(op: str, path: str, exc: OSError) -> str:
    """Go's *PathError text: `open ./templates: no such file or directory`."""
    reason = (exc.strerror or str(exc)).strip()
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


def load_template_file(path: str) -> TaskTemplate:
    name = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise TemplateLoadError(f"failed to read template '{name}': {_go_os_error('open', path, exc)}", path) from None
    try:
        return parse_template(content)
    except ValueError as exc:
        raise TemplateLoadError(f"failed to unmarshal template '{name}': '{exc}'", path) from None


def load_templates(*directories: str) -> list[LoadedTemplate]:
    """Every template of the directories (`templates-path` entries), parsed and normalised."""
    out: list[LoadedTemplate] = []
    for directory in directories:
        for path in template_files(directory):
            out.append(LoadedTemplate(path, load_template_file(path)))
    return out
