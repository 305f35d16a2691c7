"""Go text/template for µTask: lexer → parser → executor, Go fmt printing, µTask functions, values.

Public API (see docs/architecture.md): `render_template`, `TemplateError`, `Values`,
`TemplatingError`, plus the value model (`MISSING`) shared with Sprig.
"""

from .render import render_template
from .template import TemplateError
from .values import TemplatingError, Values
from .values_model import MISSING

__all__ = ["MISSING", "TemplateError", "TemplatingError", "Values", "render_template"]
