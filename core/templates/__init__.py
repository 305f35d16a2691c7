"""Task templates and functions without a database: models, YAML loading with sigs.k8s.io/yaml
semantics, validation and linting with µTask's texts, inputs checks, `utask templates check`.
See README.md beside this file for the API, the action catalogs and the deliberate differences.

    tpl = parse_template(yaml_text)                       # normalised name, Go decoding rules
    validate_template(tpl, actions=catalog, functions=registry, known_templates={...})
    # raises TemplateValidationError: str(e) == "Invalid task template: ..."; e.step, e.field, e.problems
    dumps(tpl.to_json())                                  # API JSON, Go key order
"""

from utask.core.templates.catalogs import (
    KNOWN_TEMPLATES,
    ActionCatalog,
    CombinedCatalog,
    InstalledPluginsCatalog,
    PluginHostCatalog,
    StaticCatalog,
)
from utask.core.templates.decode import DecodeError, decode_function, decode_template
from utask.core.templates.dependencies import dependencies_chain, dependency_parts
from utask.core.templates.functions import (
    FunctionLoadError,
    FunctionRegistry,
    extract_arguments,
    function_chain,
    load_functions,
    parse_function,
    resolved_conditions,
    resolved_custom_states,
    resolved_pre_hook,
)
from utask.core.templates.inputs import (
    SECRET_PLACEHOLDER,
    InputError,
    check_value,
    check_value_type,
    filter_inputs,
    mask_passwords,
    unmask_passwords,
    validate_definition,
    validate_inputs_values,
)
from utask.core.templates.jsonenc import dumps
from utask.core.templates.jsonschema_lint import compute_version, normalize_and_compile
from utask.core.templates.loader import (
    LoadedTemplate,
    TemplateLoadError,
    load_template_file,
    load_templates,
    parse_template,
    template_files,
)
from utask.core.templates.models import (
    UNSET,
    Assert,
    Condition,
    Executor,
    Function,
    Input,
    Output,
    Step,
    TaskTemplate,
    Variable,
    normalize_name,
)
from utask.core.templates.validate import (
    BUILTIN_STATES,
    Problem,
    TemplateValidationError,
    find_problems,
    function_problems,
    validate_template,
)
from utask.core.templates.yamlload import load_yaml

__all__ = [
    "BUILTIN_STATES",
    "KNOWN_TEMPLATES",
    "SECRET_PLACEHOLDER",
    "UNSET",
    "ActionCatalog",
    "Assert",
    "CombinedCatalog",
    "InstalledPluginsCatalog",
    "Condition",
    "DecodeError",
    "Executor",
    "Function",
    "FunctionLoadError",
    "FunctionRegistry",
    "Input",
    "InputError",
    "LoadedTemplate",
    "Output",
    "PluginHostCatalog",
    "Problem",
    "StaticCatalog",
    "Step",
    "TaskTemplate",
    "TemplateLoadError",
    "TemplateValidationError",
    "Variable",
    "check_value",
    "check_value_type",
    "compute_version",
    "decode_function",
    "decode_template",
    "dependencies_chain",
    "dependency_parts",
    "function_chain",
    "function_problems",
    "dumps",
    "extract_arguments",
    "filter_inputs",
    "find_problems",
    "load_functions",
    "load_template_file",
    "load_templates",
    "load_yaml",
    "mask_passwords",
    "normalize_and_compile",
    "normalize_name",
    "parse_function",
    "parse_template",
    "resolved_conditions",
    "resolved_custom_states",
    "resolved_pre_hook",
    "template_files",
    "unmask_passwords",
    "validate_definition",
    "validate_inputs_values",
    "validate_template",
]
