"""Responses the way µTask renders them (reference §7.1, `api/yamlrender.go`).

JSON by default: Go's `encoding/json` output (`utask.core.gojson.dumps`: sorted map keys, HTML escaping,
RFC 3339 times with nanoseconds), indented with 4 spaces like gin in debug mode, or compact like
`GIN_MODE=release`. The `Accept` header is parsed with q-values (goautoneg) and the first of
`application/json` / `application/x-yaml` in preference order wins; YAML is the JSON document converted
to YAML (sigs.k8s.io/yaml.Marshal). A handler without payload answers an empty body.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import yaml
from starlette.responses import Response
from utask.core import gojson

JSON_TYPE = "application/json; charset=utf-8"
YAML_TYPE = "application/x-yaml"


def default_pretty() -> bool:
    """gin's default is debug mode (indented JSON); `GIN_MODE=release` gives compact JSON."""
    return os.environ.get("GIN_MODE", "").strip().lower() != "release"


@functools.lru_cache(maxsize=256)
def wants_yaml(accept: str) -> bool:
    """goautoneg.ParseAccept: sorted by q (stable), the first application/json|x-yaml decides."""
    if not accept or "yaml" not in accept:
        return False
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranked.append((-q, index, media))
    ranked.sort()
    for neg_q, _, media in ranked:
        if -neg_q <= 0:
            continue
        main, _, sub = media.partition("/")
        if main != "application":
            continue
        if sub == "json":
            return False
        if sub == "x-yaml":
            return True
    return False


class _YAMLDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_YAMLDumper.add_representer(str, _str_presenter)


def _from_go_json(text: str) -> Any:
    # Numbers become int/float for the YAML writer; large/precise ones keep their text through float repr.
    import json

    return json.loads(text)


def to_yaml(payload: Any) -> bytes:
    data = _from_go_json(gojson.dumps(payload, escape_html=False))
    return yaml.dump(data, Dumper=_YAMLDumper, allow_unicode=True, default_flow_style=False,
                     sort_keys=True).encode("utf-8")


def to_json(payload: Any, pretty: bool) -> bytes:
    if pretty:
        return gojson.dumps(payload, indent="    ").encode("utf-8")
    return gojson.dumps(payload).encode("utf-8")


def render(request: Any, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """The response of a handler: `payload` None → empty body."""
    if payload is None:
        return Response(status_code=status, headers=headers)
    accept = request.headers.get("accept", "") if request is not None else ""
    if wants_yaml(accept):
        return Response(to_yaml(payload), status_code=status, media_type=YAML_TYPE, headers=headers)
    pretty = default_pretty() if request is None else getattr(request.app.state, "pretty_json", True)
    return Response(to_json(payload, pretty), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_body(request: Any, status: int, message: str) -> Response:
    return render(request, status, {"error": message})
