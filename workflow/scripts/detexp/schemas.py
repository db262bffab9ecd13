"""The workflow's JSON schemas (YAML files in workflow/schemas/) and the defaults they state."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def _parsed(name: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / name) as f:
        return yaml.safe_load(f)


def load_schema(name: str) -> dict[str, Any]:
    """One of the workflow's JSON schemas: parsed once per process (an entry script asks for several
    defaults), a fresh copy each time so that no caller can change another's."""
    return copy.deepcopy(_parsed(name))


def schema_default(dotted_key: str, schema_name: str = "config.schema.yaml") -> Any:
    """The default the schema gives a config key (`inference.threshold`): the command-line tools take
    theirs from here, so a tool run by hand behaves as the workflow's rule with default settings."""
    node = _parsed(schema_name)
    for part in dotted_key.split("."):
        node = node["properties"][part]
    return copy.deepcopy(node["default"])


def checked_setting(value: Any, dotted_key: str, schema_name: str) -> Any:
    """A setting given on a command line, checked against its schema with the schema's defaults filled
    in one level deep (`--repeat-factor '{"threshold": 0.3}'` gets mode and max_repeats), as the
    workflow's config would have it. Raises ValueError naming the key and what is allowed."""
    import jsonschema

    node = _parsed(schema_name)
    for part in dotted_key.split("."):
        node = node["properties"][part]
    try:
        jsonschema.validate(value, node)
    except jsonschema.ValidationError as err:
        key = ".".join([dotted_key, *map(str, err.absolute_path)])
        raise ValueError(f"{key}: {err.message}") from None
    if isinstance(value, dict):
        defaults = {k: copy.deepcopy(sub["default"]) for k, sub in node.get("properties", {}).items() if "default" in sub}
        value = {**defaults, **value}
    return value
