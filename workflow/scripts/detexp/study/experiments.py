"""Experiment files: one YAML file per experiment (its stem is the experiment's name), validated
against the classes of the study, and the settings one experiment resolves to."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from .config import CONFIG_SOURCE
from ..schemas import load_schema
from .validation import ConfigError, validate
from ..data.sources import DatasetError, read_text

EXPERIMENT_SUFFIXES = (".yaml", ".yml")


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
    class_loss_weights: dict[str, Any] | None = None  # None: rfdetr's own classification loss

    def fractions_for(self, classes: Iterable[str]) -> dict[str, float]:
        """The fraction of every configured class (1.0 for a class the file leaves out)."""
        return {c: float(self.frame_sample_fractions.get(c, 1.0)) for c in classes}

    def sampling_mode(self, config: dict[str, Any]) -> str:
        """How the per-class draws make the training set: the experiment's frame_sampling, else the study's."""
        return self.frame_sampling or config["frame_sampling"]

    @property
    def remedied(self) -> bool:
        """Whether the experiment applies a remedy: repeated frames (oversampling, repeat-factor sampling)
        or a class-weighted loss."""
        factors = [*self.oversample.values(), *self.frame_sample_fractions.values()]
        repeats = self.repeat_factor is not None or any(f > 1 for f in factors)  # an oversample of 1 repeats nothing
        return repeats or self.class_loss_weights is not None


def load_experiment(path: Path, classes: list[str]) -> Experiment:
    """Read and validate one experiment file."""
    source = str(path)
    try:
        raw = yaml.safe_load(read_text(path, "experiment file"))
    except DatasetError as err:  # missing, unreadable, not UTF-8: said with the file's name
        raise ConfigError(str(err)) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})") from err
    data = validate(raw, load_schema("experiment.schema.yaml"), source)
    if data["name"] != path.stem:
        raise ConfigError(f"{source}: name: {data['name']!r} must equal the file name stem {path.stem!r}")
    weights = data["class_loss_weights"]
    by_class = {
        "frame_sample_fractions": data["frame_sample_fractions"],
        "oversample": data["oversample"],
        "class_loss_weights": weights if weights is not None and "method" not in weights else {},  # a map names classes
    }
    for key, named in by_class.items():
        unknown = [c for c in named if c not in classes]
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
        data["class_loss_weights"],
    )


def load_experiments(config: dict[str, Any], root: Path = Path(".")) -> dict[str, Experiment]:
    """All experiment files of the study (or those `experiments` selects), by name."""
    exp_dir = root / config["experiments_dir"]
    # Both YAML suffixes; not hidden files (an editor's lock or backup, macOS's ._ copies).
    paths = sorted(p for suffix in EXPERIMENT_SUFFIXES for p in exp_dir.glob(f"*{suffix}") if not p.name.startswith("."))
    if not paths:
        raise ConfigError(
            f"{CONFIG_SOURCE}: experiments_dir: no experiment files ({', '.join(EXPERIMENT_SUFFIXES)}) in {exp_dir}"
        )
    twice = sorted(stem for stem, n in Counter(p.stem for p in paths).items() if n > 1)
    if twice:
        raise ConfigError(
            f"{CONFIG_SOURCE}: experiments_dir: {exp_dir} has experiment {', '.join(map(repr, twice))} twice "
            f"({' and '.join(EXPERIMENT_SUFFIXES)}) - keep one file per experiment"
        )
    experiments = {p.stem: load_experiment(p, config["classes"]) for p in paths}
    wanted = config["experiments"]
    repeated = sorted(name for name, n in Counter(wanted or []).items() if n > 1)
    if repeated:
        raise ConfigError(f"{CONFIG_SOURCE}: experiments: {', '.join(repeated)} named more than once - name each once")
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
        "class_loss_weights": experiment.class_loss_weights,
    }
    return resolved
