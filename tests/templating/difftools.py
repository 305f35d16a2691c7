"""Helpers for the differential templating tests: render with both engines, compare exactly."""

from __future__ import annotations

from utask.core.gojson import loads
from utask.core.templating import TemplateError, render_template

from .go_oracle import GoOracle

# One data set with every JSON kind, decoded with exact numbers like µTask's inputs.
DATA_JSON = (
    '{"a": {"b": [1, 2, "x"], "c": {"d": "deep"}}, "n": 1.50, "big": 1619464078, "neg": -2.3, '
    '"s": "hé", "z": null, "l": [3, 1, 2], "m": {"k": "v", "a": 1, "b": [true, null]}, '
    '"t": true, "f": false, "e": "", "i": 7, "zero": 0, "el": [], "em": {}, '
    '"html": "<a href=\\"x\\">&\'</a>", "ml": "line1\\nline2", "strs": ["b", "a", "c"]}'
)


def mine(template: str, data_json: str = DATA_JSON) -> tuple[str | None, str | None]:
    try:
        return render_template(template, loads(data_json)), None
    except TemplateError as e:
        return None, str(e)


def check(oracle: GoOracle, template: str, data_json: str = DATA_JSON) -> None:
    """Same output, or the same error text, as Go's text/template."""
    expected = oracle.render(template, data_json=data_json)
    assert mine(template, data_json) == expected, template
