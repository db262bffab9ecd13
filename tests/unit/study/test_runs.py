"""Sweeps and replicates: run ids, cross and zip expansion, typed values, errors."""

from __future__ import annotations

import pytest

from detexp.study.config import validate_config
from detexp.study.experiments import Experiment
from detexp.study.validation import ConfigError
from detexp.study.runs import expand_runs, strip_runs

EXPERIMENTS = {
    "exp_a": Experiment("exp_a", "", {"person": 0.25}, "config/experiments/exp_a.yaml"),
    "exp_b": Experiment("exp_b", "", {"person": 1.0}, "config/experiments/exp_b.yaml"),
}


def config(**extra):
    return validate_config(
        {"project_dir": "p", "classes": ["crane hook", "person"], "training": {"model": "nano", "image_size": 64}, **extra}
    )


def test_without_sweep_or_replicates_runs_are_the_experiments():
    runs = expand_runs(config(), EXPERIMENTS)
    assert list(runs) == ["exp_a", "exp_b"]
    assert runs["exp_a"].seed == 42 and runs["exp_a"].swept == {} and runs["exp_a"].config["training"]["epochs"] == 50


def test_a_cross_sweep_with_command_line_strings_gets_typed_values_and_readable_ids():
    runs = expand_runs(config(sweep={"training.epochs": ["25", "50"], "training.lr": ["1e-4", "5e-5"]}), EXPERIMENTS)
    assert list(runs)[:4] == [
        "exp_a__epochs-25__lr-0.0001",
        "exp_a__epochs-25__lr-5e-05",
        "exp_a__epochs-50__lr-0.0001",
        "exp_a__epochs-50__lr-5e-05",
    ]
    assert len(runs) == 8
    run = runs["exp_a__epochs-50__lr-5e-05"]
    assert run.swept == {"training.epochs": 50, "training.lr": 5e-05}
    assert run.config["training"]["epochs"] == 50 and run.config["training"]["lr"] == 5e-05
    assert run.config["training"]["batch_size"] == 16  # untouched settings keep their values
    assert "sweep" not in run.config


def test_zip_pairs_values_and_replicates_get_their_own_seeds():
    cfg = config(sweep={"training.epochs": [10, 20], "inference.threshold": [0.3, 0.4]}, sweep_mode="zip", replicates=3)
    runs = expand_runs(cfg, {"exp_a": EXPERIMENTS["exp_a"]})
    assert list(runs) == [
        "exp_a__epochs-10__threshold-0.3",
        "exp_a__epochs-10__threshold-0.3__rep1",
        "exp_a__epochs-10__threshold-0.3__rep2",
        "exp_a__epochs-20__threshold-0.4",
        "exp_a__epochs-20__threshold-0.4__rep1",
        "exp_a__epochs-20__threshold-0.4__rep2",
    ]
    assert [r.seed for r in runs.values()] == [42, 43, 44, 42, 43, 44]
    assert [r.config["seed"] for r in runs.values()][:3] == [42, 43, 44]


def test_adding_a_value_or_a_replicate_keeps_every_existing_run_as_it_was():
    before = expand_runs(config(sweep={"training.epochs": [25, 50]}), EXPERIMENTS)
    after = expand_runs(config(sweep={"training.epochs": [25, 50, 100]}, replicates=2), EXPERIMENTS)
    for rid, run in before.items():
        assert after[rid].config == run.config and after[rid].seed == run.seed
    assert len(after) == 12


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            {"sweep": {"training.epoch": [1, 2]}},
            "sweep: unknown or study-wide key 'training.epoch' - allowed: inference.batch_size",
        ),
        ({"sweep": {"splits.test_fraction": [0.1]}}, "unknown or study-wide key 'splits.test_fraction'"),
        ({"sweep": {"training.epochs": []}}, "sweep: training.epochs: give a non-empty list of values, got []"),
        (
            {"sweep": {"training.epochs": ["many"]}},
            "training.epochs: 'many' is not of type integer (with the sweep values training.epochs='many')",
        ),
        ({"sweep": {"training.image_size": [64, 100]}}, "training.image_size: 100 is not valid for model 'nano'"),
        ({"sweep": {"training.epochs": [1, 2], "training.lr": [1e-4]}, "sweep_mode": "zip"}, "zip needs lists of one length"),
        ({"sweep": {"training.extra": [{"warmup_epochz": 1}]}}, "unknown rfdetr train() argument(s) warmup_epochz"),
    ],
)
def test_bad_sweeps_fail_naming_the_key_and_the_fix(extra, message):
    with pytest.raises(ConfigError) as err:
        expand_runs(config(**extra), EXPERIMENTS)
    assert message in str(err.value)


def test_run_ids_that_would_collide_are_rejected(tmp_path):
    (tmp_path / "a b.pth").write_bytes(b"x")
    (tmp_path / "a_b.pth").write_bytes(b"x")
    sweep = {"training.pretrain_weights": [str(tmp_path / "a b.pth"), str(tmp_path / "a_b.pth")]}
    with pytest.raises(ConfigError, match="two runs would share the id 'exp_a__pretrain_weights-"):
        expand_runs(config(sweep=sweep), EXPERIMENTS)
    clash = {**EXPERIMENTS, "exp_a__epochs-25": Experiment("exp_a__epochs-25", "", {}, "x.yaml")}
    with pytest.raises(ConfigError, match="two runs would share the id 'exp_a__epochs-25'"):
        expand_runs(config(sweep={"training.epochs": [25]}), clash)


def test_a_swept_gpu_count_beyond_a_node_is_refused_naming_the_sweep_point():
    with pytest.raises(ConfigError, match=r"training.gpus: 16 is more than a GPU node has"):
        expand_runs(config(sweep={"training.gpus": [1, 16]}), EXPERIMENTS)
    runs = expand_runs(config(sweep={"training.gpus": [1, 2]}), EXPERIMENTS)
    assert sorted({r.config["training"]["gpus"] for r in runs.values()}) == [1, 2]


# ---- the train job's settings param ---------------------------------------------------------------------


def test_training_settings_leave_out_what_is_unset_and_carry_a_matched_baseline():
    from detexp.study.runs import Run, matched_baselines, training_settings

    weighted = Experiment("exp_w", "", {"person": 0.25}, "w.yaml", class_loss_weights={"method": "inverse_frequency"})
    base_config = config(training={"model": "nano", "image_size": 64, "epochs": 30, "gpus": 2})
    matched_config = config(training={"model": "nano", "image_size": 64, "match_images_seen": True})
    runs = {
        "exp_a": Run("exp_a", EXPERIMENTS["exp_a"], config=base_config),
        "exp_w": Run("exp_w", weighted, config=matched_config),
        "exp_b": Run("exp_b", EXPERIMENTS["exp_b"], config=matched_config),
    }
    # only a remedied run compared with an unremedied one, and asking to match it, is matched
    baselines = matched_baselines(runs, [("exp_a", "exp_w"), ("exp_a", "exp_b"), ("exp_w", "exp_b")])
    assert baselines == {"exp_w": "exp_a"}
    plain = training_settings(runs["exp_b"], runs, baselines, "results/{run}/dataset")
    assert "gpus" not in plain and "match_images_seen" not in plain and "class_loss_weights" not in plain
    assert list(plain) == sorted(plain) and plain["epochs"] == 50  # Snakemake compares params by repr
    assert training_settings(runs["exp_a"], runs, baselines, "results/{run}/dataset")["gpus"] == 2
    matched = training_settings(runs["exp_w"], runs, baselines, "results/{run}/dataset")
    assert matched["class_loss_weights"] == {"method": "inverse_frequency"}
    assert matched["match_images_seen"] == {
        "baseline": "exp_a",
        "baseline_dataset_dir": "results/exp_a/dataset",
        "baseline_epochs": 30,
        "baseline_gpus": 2,
    }


def test_a_video_strip_shows_replicate_0_of_each_run_by_fractions_then_name_at_most_max_rows():
    experiments = {
        **EXPERIMENTS,
        "exp_0": Experiment("exp_0", "", {"person": 0.25}, "config/experiments/exp_0.yaml"),
        "exp_c": Experiment("exp_c", "", {"person": 0.5}, "config/experiments/exp_c.yaml"),
    }
    runs = expand_runs(config(replicates=2), experiments)
    classes = ["crane hook", "person"]
    assert strip_runs(runs, classes) == ["exp_0", "exp_a", "exp_c", "exp_b"]
    assert strip_runs(runs, classes, max_rows=2) == ["exp_0", "exp_a"]


def test_a_name_pattern_matches_exactly_its_names_and_is_shorter_than_their_alternation():
    import re

    from detexp.study.runs import name_pattern

    names = [f"exp_{e:04d}__epochs{s}__r{r}" for e in range(4) for s in range(1, 26) for r in range(10)]
    names += ["a", "ab", "a.b+c", "x-y"]  # a name that is a prefix of another; characters regex reads
    pattern = re.compile(f"(?:{name_pattern(names)})")
    assert all(pattern.fullmatch(n) for n in names)
    near = ["exp_0004__epochs1__r0", "exp_0000__epochs26__r0", "exp_0000__epochs1__r", "abc", "a-b+c", "", "x-"]
    assert not any(pattern.fullmatch(n) for n in near)
    assert len(name_pattern(names)) < len("|".join(map(re.escape, names))) / 4
    assert name_pattern([]) == ""
