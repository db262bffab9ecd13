"""The study config (config/config.yaml with any --configfile/--config): validated against its
schema, with the checks a schema cannot express (resolutions per model, rfdetr's own train()
arguments, a local checkpoint), and the project settings a user's own config should set.

Everything here runs when Snakemake builds the DAG, so every problem a user can make in a YAML
file is reported by `snakemake -n`, before any job runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .models import MODEL_VARIANTS, pretrain_source
from ..schemas import load_schema, schema_default
from .validation import ConfigError, validate

CONFIG_SOURCE = "the workflow config (config/config.yaml with any --configfile/--config)"


def managed_train_keys() -> frozenset[str]:
    """The rfdetr train() arguments the workflow sets itself: the keys of train_kwargs (derived from
    it, so the two cannot drift) and the starting weights and resume state it passes beside them.
    training.extra cannot override them."""
    from ..train.training import train_kwargs

    settings = {"patience": None, "epochs": 1, "batch_size": 1, "lr": 1.0, "image_size": 32, "multi_scale": False, "gpus": 2}
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
    if not training["extra"]:
        return  # the usual case: the DAG build needs neither the training code nor rfdetr
    clash = sorted(managed_train_keys() & set(training["extra"]))
    if clash:
        raise ConfigError(
            f"{source}: training.extra: {', '.join(clash)} set by the workflow itself (from the training.* keys, "
            "its own paths, or fixed: TensorBoard logs, per-class metrics, the device) - not allowed in extra"
        )
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
    # The values too, as rfdetr will read them: a wrong one fails here, not in the GPU job; one rfdetr
    # would replace with a warning (an unknown amp_dtype becomes 'auto') is refused.
    import warnings

    from pydantic import ValidationError

    with warnings.catch_warnings(record=True) as replaced:
        warnings.simplefilter("always", UserWarning)
        try:
            TrainConfig.model_validate({"dataset_dir": ".", **extra})  # the dataset is the workflow's
        except ValidationError as err:
            problems = "; ".join(
                f"training.extra.{'.'.join(map(str, e['loc']))}: {e['input']!r} - {e['msg']}" for e in err.errors()
            )
            raise ConfigError(f"{source}: {problems}") from None
    said = [str(w.message) for w in replaced if issubclass(w.category, UserWarning)]
    if said:
        raise ConfigError(f"{source}: training.extra: rfdetr would not take it as written - {'; '.join(said)}")


def check_gpus(training: dict[str, Any], gpu_allocation: dict[str, Any], source: str = CONFIG_SOURCE) -> None:
    """One run's GPUs are on one node: training.gpus may not exceed gpu_allocation.gpus_per_node."""
    if training["gpus"] > gpu_allocation["gpus_per_node"]:
        raise ConfigError(
            f"{source}: training.gpus: {training['gpus']} is more than a GPU node has "
            f"(gpu_allocation.gpus_per_node: {gpu_allocation['gpus_per_node']}) - a run trains on one node; "
            f"allowed: 1 to {gpu_allocation['gpus_per_node']}"
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
    check_gpus(config["training"], config["gpu_allocation"])
    if config["annotations_file"] and config["project_format"] not in ("auto", "coco"):
        raise ConfigError(
            f"{CONFIG_SOURCE}: annotations_file: {config['annotations_file']!r} is a COCO file, but project_format is "
            f"{config['project_format']!r}, which does not read one - drop annotations_file, or set project_format: coco"
        )
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


def sorted_dict(value: Any) -> Any:
    """Dicts with sorted keys, recursively: Snakemake compares params by repr()."""
    if isinstance(value, dict):
        return {k: sorted_dict(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_dict(v) for v in value]
    return value
