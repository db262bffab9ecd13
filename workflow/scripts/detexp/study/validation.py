"""Checking a user's YAML against a JSON schema, with messages that name the file, the key, the bad
value and what is allowed; and whether a configured path can be used."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import jsonschema


class ConfigError(ValueError):
    """A config or experiment file is invalid; the message names the file, key and fix."""


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def coerce_to_schema(value: Any, schema: dict[str, Any]) -> Any:
    """Turn strings into the numbers, booleans or nulls the schema asks for.

    Snakemake hands nested `--config` values over as strings, and YAML 1.1 reads `1e-4` as a
    string; both must still reach the schema (and training) as numbers.
    """
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: coerce_to_schema(v, props.get(k, extra if isinstance(extra, dict) else {})) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [coerce_to_schema(v, items if isinstance(items, dict) else {}) for v in value]
    if not isinstance(value, str):
        return value
    types = _types(schema)
    text = value.strip()
    if "null" in types and text.lower() in ("null", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            number = float(text)
            return int(number) if "integer" in types and number.is_integer() else number
        except ValueError:
            pass
    return value


def _extend_with_defaults(validator_class: type) -> type:
    """A validator that fills in `default` values of properties while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _extend_with_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
    """One line per schema error: key, bad value and what is allowed."""
    key = _key_path(error)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"unknown key(s) {', '.join(map(repr, extra))} under {key} - allowed: {', '.join(allowed)}"
    if v == "required":
        return f"{key}: {error.message}"
    if v == "not" and set(error.validator_value) == {"required"}:  # a key only another choice takes
        keys = ", ".join(error.validator_value["required"])
        return f"{key}: {keys} is not a setting of method {error.instance.get('method')!r} - remove it"
    if v == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{key}: {error.instance!r} is not allowed - one of: {allowed}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        schema = error.schema
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        opening = "(" if lo is None or "exclusiveMinimum" in schema else "["
        closing = ")" if hi is None or "exclusiveMaximum" in schema else "]"
        bounds = f"{opening}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{closing}"
        return f"{key}: {error.instance!r} is not within {bounds}"
    if v == "type":
        allowed = " or ".join(_types(error.schema))
        return f"{key}: {error.instance!r} is not of type {allowed}"
    return f"{key}: {error.message}"


def non_finite_numbers(value: Any, key: str = "") -> list[str]:
    """The keys (dotted) whose value is NaN or an infinity: no setting of the workflow means either,
    and comparisons with NaN pass every range check of a schema."""
    if isinstance(value, dict):
        return [k for name, v in value.items() for k in non_finite_numbers(v, f"{key}.{name}" if key else str(name))]
    if isinstance(value, list):
        return [k for i, v in enumerate(value) for k in non_finite_numbers(v, f"{key}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{key}: {value!r} is not a finite number"]
    return []


def validate(instance: dict[str, Any], schema: dict[str, Any], source: str) -> dict[str, Any]:
    """Coerce, fill defaults and validate; raise ConfigError listing every problem."""
    if not isinstance(instance, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values, got {instance!r}")
    instance = coerce_to_schema(copy.deepcopy(instance), schema)
    problems = non_finite_numbers(instance)
    errors = sorted(_DefaultFillingValidator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    problems += [_explain(e) for e in errors]
    if problems:
        raise ConfigError(f"{source}:\n  " + "\n  ".join(problems))
    return instance


def path_problem(path: str | Path, want: str) -> str | None:
    """Why a configured input cannot be used as a `want` ("file" or "folder"), or None."""
    path = Path(path)
    if not path.exists():
        return "not found" + (" (a broken symbolic link)" if path.is_symlink() else "")
    if want == "file" and path.is_dir():
        return "is a folder, not a file"
    if want == "file" and not path.is_file():
        return "is not a regular file"
    if want == "folder" and not path.is_dir():
        return "is not a folder"
    try:
        if want == "file":
            with open(path, "rb") as f:
                f.read(1)
        else:
            os.listdir(path)
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    return None
