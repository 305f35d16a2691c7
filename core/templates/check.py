"""Checking template files and function folders without a database (`utask templates check`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from utask.core.templates.catalogs import ActionCatalog
from utask.core.templates.functions import FunctionLoadError, FunctionRegistry, function_files, parse_function
from utask.core.templates.loader import TemplateLoadError, load_template_file, template_files
from utask.core.templates.models import TaskTemplate
from utask.core.templates.validate import find_problems, function_problems


@dataclass
class CheckLine:
    """One problem: where (file, template, step, field) and µTask's message."""

    file: str
    message: str
    template: str | None = None
    step: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.template is not None:
            where.append(f'template "{self.template}"')
        if self.step is not None:
            where.append(f'step "{self.step}"')
        if self.field is not None:
            where.append(f'field "{self.field}"')
        # one line per problem: multi-line messages (schema compilation) are folded
        return ": ".join(where) + ": " + " ".join(part.strip() for part in self.message.splitlines())


@dataclass
class CheckReport:
    problems: list[CheckLine]
    templates: list[tuple[str, TaskTemplate]]
    functions: FunctionRegistry

    @property
    def ok(self) -> bool:
        return not self.problems


def _expand_template_paths(paths: list[str]) -> tuple[list[str], list[CheckLine]]:
    files: list[str] = []
    problems: list[CheckLine] = []
    for p in paths:
        if os.path.isdir(p):
            try:
                files.extend(template_files(p))
            except TemplateLoadError as exc:
                problems.append(CheckLine(p, str(exc)))
        elif os.path.exists(p):
            files.append(p)
        else:
            problems.append(CheckLine(p, "no such file or directory"))
    return files, problems


def load_function_dirs(dirs: list[str]) -> tuple[FunctionRegistry, list[CheckLine]]:
    registry = FunctionRegistry()
    problems: list[CheckLine] = []
    for d in dirs:
        paths = function_files(d) if os.path.isdir(d) else ([d] if os.path.isfile(d) else [])
        if not paths and not os.path.exists(d):
            problems.append(CheckLine(d, "no such file or directory"))
        for path in paths:
            try:
                with open(path, "rb") as fh:
                    registry.add(parse_function(fh.read(), path))
            except FunctionLoadError as exc:
                problems.append(CheckLine(path, str(exc)))
            except OSError as exc:
                problems.append(CheckLine(path, str(exc)))
    return registry, problems


def _function_problems(registry: FunctionRegistry, actions: ActionCatalog) -> list[CheckLine]:
    problems: list[CheckLine] = []
    for name in registry:
        fn = registry.get(name)
        assert fn is not None
        for field, message in function_problems(fn, actions=actions, functions=registry):
            problems.append(CheckLine(fn.file_name, f'function "{fn.name}": {message}', field=field))
    return problems


def _looks_like_function(path: str) -> bool:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except Exception:  # noqa: BLE001 - the template loader has reported it already
        return False
    return isinstance(doc, dict) and "action" in doc and "steps" not in doc


def check_paths(
    template_paths: list[str],
    *,
    function_dirs: list[str] | None = None,
    actions: ActionCatalog,
    known_templates: set[str] | None = None,
) -> CheckReport:
    """Validate template files (or directories of them) and function folders."""
    registry, problems = load_function_dirs(function_dirs or [])
    problems += _function_problems(registry, actions)
    files, more = _expand_template_paths(template_paths)
    problems += more
    loaded: list[tuple[str, TaskTemplate]] = []
    per_file: dict[str, list[CheckLine]] = {path: [] for path in files}
    for path in files:
        try:
            loaded.append((path, load_template_file(path)))
        except TemplateLoadError as exc:
            per_file[path].append(CheckLine(path, str(exc)))
    # every name is known before validating (templates may reference each other, like µTask's import)
    names = {t.name for _, t in loaded} | set(known_templates or ())
    for path, tpl in loaded:
        if _looks_like_function(path):
            per_file[path].append(CheckLine(path, 'this is a function, not a template (it has "action" and no '
                                                  '"steps"): pass its folder with --functions-path'))
            continue
        for p in find_problems(tpl, actions=actions, functions=registry, known_templates=names):
            per_file[path].append(CheckLine(path, p.message, template=tpl.name, step=p.step, field=p.field))
    for path in files:
        problems += per_file[path]
    return CheckReport(problems, loaded, registry)

