"""Loading and validating the study config and the experiment files.

Everything here runs when Snakemake builds the DAG, so every problem a user can make in a YAML
file is reported by `snakemake -n`, before any job runs.
"""

from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from .models import MODEL_VARIANTS, pretrain_source
from .schemas import load_schema, schema_default

CONFIG_SOURCE = "the workflow config (config/config.yaml with any --configfile/--config)"


def managed_train_keys() -> frozenset[str]:
    """The rfdetr train() arguments the workflow sets itself: the keys of train_kwargs (derived from
    it, so the two cannot drift) and the starting weights and resume state it passes beside them.
    training.extra cannot override them."""
    from .training import train_kwargs

    settings = {"patience": None, "epochs": 1, "batch_size": 1, "lr": 1.0, "image_size": 32, "multi_scale": False}
    return frozenset(train_kwargs("", "", [], {**settings, "num_workers": 0}, 0, "")) | {"resume", "pretrain_weights"}


# Settings that belong to one labelled project: a study config of one's own sets them itself, or it
# silently runs with the bundled study's (config/config.yaml, and the default experiments folder).
PROJECT_KEYS = ("project_dir", "classes", "test_videos", "experiments_dir")


def inherited_project_settings(user_config: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """Per project key the user's config files (and --config) leave to the bundled study, how to
    read it: its value and where it comes from, and how to set one's own."""
    how = {
        "project_dir": "set project_dir to your labelled project",
        "classes": "set classes to your project's classes",
        "test_videos": "set test_videos to your videos ([] for none)",
        "experiments_dir": "set experiments_dir to the folder of your experiment files",
    }
    source = {k: "config/config.yaml, the bundled study's settings" for k in PROJECT_KEYS}
    source["experiments_dir"] = "the default: the bundled study's experiment files"
    value = {key: config.get(key, schema_default(key) if key == "experiments_dir" else None) for key in PROJECT_KEYS}
    return {
        key: f"{key} {value[key]!r} comes from {source[key]}, not from your config - {how[key]}"
        for key in PROJECT_KEYS
        if key not in user_config
    }


class ConfigError(ValueError):
    """A config or experiment file is invalid; the message names the file, key and fix."""


@dataclass(frozen=True)
class Experiment:
    """One experiment file, validated."""

    name: str
    description: str
    frame_sample_fractions: dict[str, float]
    path: str
    background_fraction: float = 0.0
    oversample: dict[str, float] = field(default_factory=dict)
    repeat_factor: dict[str, Any] | None = None
    frame_sampling: str | None = None  # None: the study's (config frame_sampling)

    def fractions_for(self, classes: Iterable[str]) -> dict[str, float]:
        """The fraction of every configured class (1.0 for a class the file leaves out)."""
        return {c: float(self.frame_sample_fractions.get(c, 1.0)) for c in classes}

    def sampling_mode(self, config: dict[str, Any]) -> str:
        """How the per-class draws make the training set: the experiment's frame_sampling, else the study's."""
        return self.frame_sampling or config["frame_sampling"]

    @property
    def remedied(self) -> bool:
        """Whether the experiment repeats frames (oversampling or repeat-factor sampling)."""
        factors = [*self.oversample.values(), *self.frame_sample_fractions.values()]
        return self.repeat_factor is not None or any(f > 1 for f in factors)  # an oversample of 1 repeats nothing


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
                if "default" in sub and key not in instance:
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


def nearest_resolutions(size: int, multiple: int) -> list[int]:
    """The valid resolutions just below and above `size`."""
    below = max(multiple, size // multiple * multiple)
    above = below + multiple if below <= size else below
    return sorted({below, above})


def check_training(training: dict[str, Any], source: str = CONFIG_SOURCE) -> None:
    """Checks the schema cannot express: resolution per model, and `extra` against rfdetr."""
    model, size = training["model"], training["image_size"]
    multiple = MODEL_VARIANTS[model].resolution_multiple
    if size % multiple:
        near = " or ".join(map(str, nearest_resolutions(size, multiple)))
        raise ConfigError(
            f"{source}: training.image_size: {size} is not valid for model {model!r} - "
            f"RF-DETR {model} needs a multiple of {multiple}; nearest valid: {near}"
        )
    clash = sorted(managed_train_keys() & set(training["extra"]))
    if clash:
        raise ConfigError(
            f"{source}: training.extra: {', '.join(clash)} set by the workflow itself (from the training.* keys, "
            "its own paths, or fixed: TensorBoard logs, per-class metrics, the device) - not allowed in extra"
        )
    if training["extra"]:
        check_train_extra(training["extra"], source)


def check_train_extra(extra: dict[str, Any], source: str = CONFIG_SOURCE) -> None:
    """Validate `training.extra` against rfdetr's own TrainConfig (imported only when needed)."""
    from rfdetr.config import TrainConfig  # slow import: only when extra keys are given

    known = set(TrainConfig.model_fields)
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(
            f"{source}: training.extra: unknown rfdetr train() argument(s) {', '.join(unknown)} - "
            f"allowed: {', '.join(sorted(known - managed_train_keys()))}"
        )


def check_pretrain_weights(training: dict[str, Any], source: str = CONFIG_SOURCE) -> None:
    """A checkpoint path must exist when the DAG is built, not when a GPU job starts."""
    value = pretrain_source(training["pretrain_weights"])
    if value not in (None, "auto") and not Path(value).is_file():
        raise ConfigError(
            f"{source}: training.pretrain_weights: {value} is not a file - allowed: auto (the published "
            "COCO checkpoint, fetched on this machine), none (from scratch) or the path of a local checkpoint"
        )


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate the workflow config; return it coerced and with defaults filled in."""
    config = validate(config, load_schema("config.schema.yaml"), CONFIG_SOURCE)
    config["training"]["pretrain_weights"] = pretrain_source(config["training"]["pretrain_weights"])
    check_training(config["training"])
    check_pretrain_weights(config["training"])
    splits = config["splits"]
    if splits["valid_fraction"] + splits["test_fraction"] >= 1:
        raise ConfigError(
            f"{CONFIG_SOURCE}: splits: valid_fraction + test_fraction = "
            f"{splits['valid_fraction'] + splits['test_fraction']:g} - must be below 1 to leave training frames"
        )
    try:
        re.compile(splits["clip_regex"])
    except re.error as err:
        raise ConfigError(f"{CONFIG_SOURCE}: splits.clip_regex: {splits['clip_regex']!r} is no valid regex ({err})") from None
    return config


# A training of fewer minutes than this in a GPU allocation is a setting mistake, not a plan.
MIN_TRAINING_MINUTES = 60


def gpu_job_minutes(allocation: dict[str, int], n_videos: int) -> dict[str, int]:
    """SLURM time limits (minutes) of the rules that need a GPU, from `gpu_allocation`.

    A run's training, evaluation and inference on every test video share one allocation, whose time
    limit is the sum of theirs (Snakemake adds up the runtimes of a job group's jobs that run one
    after another). Training gets what the others leave of `time_limit_minutes`, so the allocation
    asks for exactly that; evaluation or inference alone (a rerun) ask for their own minutes."""
    evaluate = allocation["evaluate_minutes"]
    infer = allocation["infer_minutes_per_video"]
    train = allocation["time_limit_minutes"] - evaluate - n_videos * infer
    if train < MIN_TRAINING_MINUTES:
        raise ConfigError(
            f"{CONFIG_SOURCE}: gpu_allocation: time_limit_minutes {allocation['time_limit_minutes']} leaves "
            f"{train} minute(s) for training after evaluate_minutes {evaluate} and infer_minutes_per_video {infer} "
            f"x {n_videos} test video(s) - at least {MIN_TRAINING_MINUTES} are needed: raise time_limit_minutes "
            "(up to the GPU partition's limit) or lower the other two"
        )
    return {"train": train, "evaluate": evaluate, "infer": infer}


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


def load_experiment(path: Path, classes: list[str]) -> Experiment:
    """Read and validate one experiment file."""
    source = str(path)
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})") from err
    data = validate(raw, load_schema("experiment.schema.yaml"), source)
    if data["name"] != path.stem:
        raise ConfigError(f"{source}: name: {data['name']!r} must equal the file name stem {path.stem!r}")
    for key in ("frame_sample_fractions", "oversample"):
        unknown = [c for c in data[key] if c not in classes]
        if unknown:
            raise ConfigError(
                f"{source}: {key}: unknown class {', '.join(map(repr, unknown))} - known classes: {', '.join(classes)}"
            )
    both = [c for c, f in data["frame_sample_fractions"].items() if f > 1 and c in data["oversample"]]
    if both:
        raise ConfigError(
            f"{source}: oversample: {', '.join(map(repr, both))} also has a frame_sample_fractions value above 1 - "
            "a fraction above 1 already oversamples: use one or the other"
        )
    return Experiment(
        data["name"],
        data["description"],
        data["frame_sample_fractions"],
        source,
        float(data["background_fraction"]),
        {c: float(v) for c, v in data["oversample"].items()},
        data["repeat_factor"],
        data.get("frame_sampling"),
    )


def load_experiments(config: dict[str, Any], root: Path = Path(".")) -> dict[str, Experiment]:
    """All experiment files of the study (or those `experiments` selects), by name."""
    exp_dir = root / config["experiments_dir"]
    paths = sorted(exp_dir.glob("*.yaml"))
    if not paths:
        raise ConfigError(f"{CONFIG_SOURCE}: experiments_dir: no *.yaml experiment files in {exp_dir}")
    experiments = {p.stem: load_experiment(p, config["classes"]) for p in paths}
    wanted = config["experiments"]
    if wanted is not None:
        missing = [w for w in wanted if w not in experiments]
        if missing:
            raise ConfigError(
                f"{CONFIG_SOURCE}: experiments: no experiment file for {', '.join(missing)} in {exp_dir} - "
                f"known: {', '.join(experiments)}"
            )
        experiments = {w: experiments[w] for w in wanted}
    return experiments


def resolved_experiment_config(config: dict[str, Any], experiment: Experiment) -> dict[str, Any]:
    """The fully resolved settings of one experiment, as written to results/<exp>/config.yaml."""
    resolved = {k: copy.deepcopy(v) for k, v in config.items() if k not in ("experiments",)}
    resolved["experiment"] = {
        "name": experiment.name,
        "description": experiment.description,
        "frame_sample_fractions": experiment.fractions_for(config["classes"]),
        "background_fraction": experiment.background_fraction,
        "oversample": dict(experiment.oversample),
        "repeat_factor": experiment.repeat_factor,
        "frame_sampling": experiment.sampling_mode(config),
    }
    return resolved


def sorted_dict(value: Any) -> Any:
    """Dicts with sorted keys, recursively: Snakemake compares params by repr()."""
    if isinstance(value, dict):
        return {k: sorted_dict(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_dict(v) for v in value]
    return value
