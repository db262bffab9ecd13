"""Runs: every experiment crossed with the `sweep` values and repeated `replicates` times.

A run is what the `{run}` wildcard names: its id is the experiment's name, followed by the
swept values and the replicate number where there are any (`exp_person_25__epochs-50__rep1`), so
adding a sweep value or a replicate adds runs and leaves the existing ones (ids, settings, outputs)
untouched.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import CONFIG_SOURCE, sorted_dict, validate_config
from .experiments import Experiment, resolved_experiment_config
from .validation import ConfigError, coerce_to_schema
from ..schemas import load_schema, schema_default

# Only per-run settings can be swept: the split and the classes are shared by the whole study.
SWEEPABLE_SECTIONS = ("training", "inference")
RUN_ID_SEPARATOR = "__"  # between the experiment name, the swept values and the replicate
SAFE = re.compile(r"[^A-Za-z0-9.+-]")
# Keys that say how to expand runs: not part of any one run's settings.
EXPANSION_KEYS = ("sweep", "sweep_mode", "replicates")


@dataclass(frozen=True)
class Run:
    """One training run: an experiment, the swept settings it uses, and its replicate and seed."""

    id: str
    experiment: Experiment
    swept: dict[str, Any] = field(default_factory=dict)
    replicate: int = 0
    seed: int = schema_default("seed")
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def point(self) -> str:
        """The experiment at this run's sweep point: the id its replicate 0 has (what replicates share)."""
        return self.id.removesuffix(f"{RUN_ID_SEPARATOR}rep{self.replicate}") if self.replicate else self.id


def _schema_at(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    """The sub-schema of a dotted key, or None if the schema has no such key."""
    node = schema
    for part in dotted.split("."):
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif node.get("type") == "object" and not props:  # a free-form mapping such as training.extra
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else {}
        else:
            return None
    return node


def checked_sweep(config: dict[str, Any]) -> dict[str, list[Any]]:
    """The sweep with known, per-run keys and non-empty lists of distinct values, typed as the schema
    asks (command-line values arrive as strings), in the order given."""
    schema = load_schema("config.schema.yaml")
    allowed = sorted(f"{section}.{key}" for section in SWEEPABLE_SECTIONS for key in schema["properties"][section]["properties"])
    sweep = {}
    for key, values in (config.get("sweep") or {}).items():
        section = key.split(".", 1)[0]
        key_schema = _schema_at(schema, key) if section in SWEEPABLE_SECTIONS and "." in key else None
        if key_schema is None:
            raise ConfigError(
                f"{CONFIG_SOURCE}: sweep: unknown or study-wide key {key!r} - allowed: {', '.join(allowed)} "
                "(and training.extra.<rfdetr train() argument>)"
            )
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{CONFIG_SOURCE}: sweep: {key}: give a non-empty list of values, got {values!r}")
        typed = [coerce_to_schema(v, key_schema) for v in values]
        if len(set(map(repr, typed))) != len(typed):
            raise ConfigError(f"{CONFIG_SOURCE}: sweep: {key}: a value is listed twice in {values!r}")
        sweep[key] = typed
    return sweep


def combinations(sweep: dict[str, list[Any]], mode: str) -> list[dict[str, Any]]:
    """Every combination of the swept values (`cross`), or the i-th values together (`zip`)."""
    if not sweep:
        return [{}]
    keys = list(sweep)
    if mode == "zip":
        lengths = {k: len(v) for k, v in sweep.items()}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"{CONFIG_SOURCE}: sweep_mode zip needs lists of one length, got {lengths}")
        return [dict(zip(keys, values)) for values in zip(*sweep.values())]
    return [dict(zip(keys, values)) for values in itertools.product(*sweep.values())]


def _label(key: str, keys: list[str]) -> str:
    """The short name of a swept key in run ids: its last part, unless another key ends the same."""
    last = key.rsplit(".", 1)[-1]
    return last if sum(k.rsplit(".", 1)[-1] == last for k in keys) == 1 else key


def _value(value: Any) -> str:
    return SAFE.sub("_", value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value))


def run_id(experiment: str, swept: dict[str, Any], keys: list[str], replicate: int) -> str:
    """`<experiment>[__<key>-<value>...][__rep<i>]`: readable and safe as a file name."""
    parts = [experiment, *(f"{_label(k, keys)}-{_value(swept[k])}" for k in keys)]
    if replicate:
        parts.append(f"rep{replicate}")
    return RUN_ID_SEPARATOR.join(parts)


def apply(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config with the dotted keys set."""
    result = copy.deepcopy(config)
    for key, value in swept.items():
        node = result
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return result


def expand_runs(config: dict[str, Any], experiments: dict[str, Experiment]) -> dict[str, Run]:
    """All runs of the study by id, from a validated config; every swept combination is validated
    like a config of its own."""
    sweep = checked_sweep(config)
    keys = list(sweep)
    base = {k: v for k, v in config.items() if k not in EXPANSION_KEYS}  # validated already
    settings = []
    for swept in combinations(sweep, config.get("sweep_mode", "cross")):
        if not swept:
            settings.append((swept, base))
            continue
        try:
            resolved = {k: v for k, v in validate_config(apply(base, swept)).items() if k not in EXPANSION_KEYS}
        except ConfigError as err:
            values = ", ".join(f"{k}={v!r}" for k, v in swept.items())
            raise ConfigError(f"{err} (with the sweep values {values})") from None
        settings.append((swept, resolved))
    runs: dict[str, Run] = {}
    for name, experiment in experiments.items():
        for swept, resolved in settings:
            for replicate in range(config.get("replicates", 1)):
                rid = run_id(name, swept, keys, replicate)
                if rid in runs or (rid != name and rid in experiments):
                    raise ConfigError(
                        f"{CONFIG_SOURCE}: sweep: two runs would share the id {rid!r} "
                        "(values that differ only in characters unsafe in file names, or an experiment file of that name)"
                    )
                seed = resolved["seed"] + replicate
                runs[rid] = Run(rid, experiment, dict(swept), replicate, seed, {**resolved, "seed": seed})
    return runs


def resolved_run_config(run: Run) -> dict[str, Any]:
    """The fully resolved settings of one run, as written to results/<run>/config.yaml."""
    resolved = resolved_experiment_config(run.config, run.experiment)
    resolved["run"] = {"id": run.id, "swept": dict(run.swept), "replicate": run.replicate, "seed": run.seed}
    return resolved


def reference_pairs(config: dict[str, Any], experiments: dict[str, Experiment]) -> list[tuple[str, str]]:
    """[reference, other] experiment names: `statistics.pairs`, else every experiment without a remedy
    against the one with every fraction at 1.0 (none if there is not exactly one such experiment), and
    every remedy (oversampling, repeat-factor sampling) against its un-remedied baseline: the
    experiment with the same fractions (capped at 1) and no remedy, else the full one."""
    pairs = (config.get("statistics") or {}).get("pairs")
    if pairs is not None:
        for pair in pairs:
            unknown = [name for name in pair if name not in experiments]
            if unknown:
                raise ConfigError(
                    f"{CONFIG_SOURCE}: statistics.pairs: {pair}: no experiment {', '.join(map(repr, unknown))} - "
                    f"known: {', '.join(experiments)}"
                )
            if pair[0] == pair[1]:
                raise ConfigError(
                    f"{CONFIG_SOURCE}: statistics.pairs: {pair}: an experiment compared with itself - name two experiments"
                )
        return [(a, b) for a, b in pairs]
    classes = config["classes"]
    plain = {n: e for n, e in experiments.items() if not e.remedied}
    full = [n for n, e in plain.items() if all(v == 1.0 for v in e.fractions_for(classes).values())]
    if len(plain) > 1 and len(full) != 1:
        _no_single_reference(full, plain, "the experiments without a remedy")
    pairs = [(full[0], name) for name in plain if name != full[0]] if len(full) == 1 else []
    for name, experiment in experiments.items():
        if not experiment.remedied:
            continue
        drawn = {c: min(f, 1.0) for c, f in experiment.fractions_for(classes).items()}
        baseline = [
            n
            for n, e in plain.items()
            if e.fractions_for(classes) == drawn
            and e.background_fraction == experiment.background_fraction
            and e.sampling_mode(config) == experiment.sampling_mode(config)
        ]
        reference = baseline if len(baseline) == 1 else full
        if len(reference) != 1:
            _no_single_reference(baseline or full, plain, f"remedy {name!r}")
        pairs.append((reference[0], name))
    return pairs


def _no_single_reference(candidates: list[str], plain: dict[str, Experiment], what: str) -> None:
    """Stop at the dry run where the comparison would have no single reference (it compared nothing,
    silently): name statistics.pairs and the candidate runs."""
    found = (
        f"{len(candidates)} candidates ({', '.join(candidates)})"
        if candidates
        else "no experiment without a remedy has every fraction at 1.0"
    )
    raise ConfigError(
        f"{CONFIG_SOURCE}: statistics.pairs: no single reference to compare {what} with - {found}; "
        f"name the comparisons, e.g. statistics: {{pairs: [[{(candidates or list(plain))[0]}, <other>], ...]}} "
        f"(experiments: {', '.join(plain)})"
    )


def describe_pairs(pairs: list[tuple[str, str]]) -> str:
    """What the study compares, for the dry run: each reference with the experiments set against it."""
    against: dict[str, list[str]] = {}
    for reference, other in pairs:
        against.setdefault(reference, []).append(other)
    return "; ".join(f"{', '.join(others)} against {reference}" for reference, others in against.items())


def run_pairs(runs: dict[str, Run], experiment_pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Run ids to compare: each run of the other experiment with the reference experiment's run at
    the same sweep point and replicate."""
    by_point = {(r.experiment.name, tuple(sorted(r.swept.items())), r.replicate): rid for rid, r in runs.items()}
    pairs = []
    for reference, other in experiment_pairs:
        for rid, run in runs.items():
            if run.experiment.name == other:
                ref = by_point.get((reference, tuple(sorted(run.swept.items())), run.replicate))
                if ref is not None:
                    pairs.append((ref, rid))
    return pairs


def matched_baselines(runs: dict[str, Run], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Remedied runs that train at their baseline's images seen (training.match_images_seen): run ->
    the unremedied run it is compared with."""
    return {
        other: reference
        for reference, other in pairs
        if runs[other].experiment.remedied
        and not runs[reference].experiment.remedied
        and runs[other].config["training"]["match_images_seen"]
    }


def training_settings(run: Run, runs: dict[str, Run], baselines: dict[str, str], dataset_dir: str) -> dict[str, Any]:
    """A run's training settings (the train job's param): config training, its experiment's
    class_loss_weights, and for a remedy matched to its baseline's images seen (`baselines`), the
    baseline's epochs and dataset (`dataset_dir`: the dataset folder pattern, {run}). Unset, these
    keys are absent (not null or false): a new key would change every finished run's params.
    """
    training = {k: v for k, v in run.config["training"].items() if k != "match_images_seen" and not (k == "gpus" and v == 1)}
    if run.experiment.class_loss_weights is not None:
        training["class_loss_weights"] = run.experiment.class_loss_weights
    baseline = baselines.get(run.id)
    if baseline is not None:
        training["match_images_seen"] = {
            "baseline": baseline,
            "baseline_epochs": runs[baseline].config["training"]["epochs"],
            "baseline_dataset_dir": dataset_dir.format(run=baseline),
        }
        if runs[baseline].config["training"]["gpus"] > 1:
            training["match_images_seen"]["baseline_gpus"] = runs[baseline].config["training"]["gpus"]
    return sorted_dict(training)


# A video strip shows one row per run, so it stays readable: replicate 0 only, at most this many rows.
STRIP_MAX_ROWS = 12


def strip_runs(runs: dict[str, Run], classes: list[str], max_rows: int = STRIP_MAX_ROWS) -> list[str]:
    """The runs a test video's strip shows, one row each: replicate 0 of each experiment and sweep point,
    in the order of the comparison table (by the sampled fractions, then by name), at most `max_rows`."""
    shown = [rid for rid, run in runs.items() if run.replicate == 0]
    return sorted(
        shown, key=lambda rid: (tuple(runs[rid].experiment.fractions_for(classes).values()), runs[rid].experiment.name, rid)
    )[:max_rows]


def name_pattern(names: Iterable[str]) -> str:
    """A regular expression matching exactly `names`, as a trie (shared prefixes written once): a
    wildcard constraint of every run's name. Snakemake writes a constraint into each output, log and
    benchmark pattern of its rule and compiles and scans it for every job; a plain alternation of 1,000
    runs' names made that the largest cost of a dry run."""
    trie: dict[str, dict] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}  # a name ends here

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return pattern(trie)
