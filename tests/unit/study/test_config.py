"""Config and experiment-file validation, without Snakemake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detexp.study.config import nearest_resolutions, validate_config
from detexp.study.experiments import load_experiment, load_experiments
from detexp.study.resources import gpu_job_minutes
from detexp.schemas import load_schema
from detexp.study.validation import ConfigError, coerce_to_schema

BASE = {"project_dir": "p", "classes": ["crane hook", "person"]}


def config(**overrides):
    return {**BASE, **overrides}


def test_defaults_are_filled_in():
    c = validate_config(config())
    assert c["training"]["model"] == "nano"
    assert c["training"]["epochs"] == 50
    assert c["training"]["lr"] == pytest.approx(1e-4)
    assert c["splits"]["valid_fraction"] == 0.15
    assert c["inference"]["threshold"] == 0.5
    assert c["seed"] == 42


def test_string_values_from_the_command_line_get_their_types():
    # Snakemake hands nested --config values over as strings; YAML 1.1 reads 1e-4 as a string.
    c = validate_config(config(training={"epochs": "100", "batch_size": "8", "lr": "1e-4", "patience": "null"}))
    assert c["training"]["epochs"] == 100 and isinstance(c["training"]["epochs"], int)
    assert c["training"]["batch_size"] == 8
    assert c["training"]["lr"] == pytest.approx(1e-4) and isinstance(c["training"]["lr"], float)
    assert c["training"]["patience"] is None


def test_coercion_leaves_strings_the_schema_wants():
    schema = load_schema("config.schema.yaml")
    out = coerce_to_schema({"classes": ["1", "person"], "project_dir": "123"}, schema)
    assert out == {"classes": ["1", "person"], "project_dir": "123"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"training": {"epochs": "abc"}}, "training.epochs: 'abc' is not of type integer"),
        ({"training": {"epochs": 0}}, "training.epochs: 0 is not within [1, inf)"),
        ({"training": {"model": "huge"}}, "training.model: 'huge' is not allowed - one of: nano, small, medium, large, base"),
        ({"trainig": {}}, "unknown key(s) 'trainig' under (top level)"),
        ({"inference": {"threshold": 1.5}}, "inference.threshold: 1.5 is not within [0, 1]"),
        (
            {"inference": {"precision": "half"}},
            "inference.precision: 'half' is not allowed - one of: auto, float32, float16, bfloat16",
        ),
        ({"evaluation": {"iou_threshold": 0}}, "evaluation.iou_threshold: 0 is not within (0, 1]"),
        ({"classes": []}, "classes"),
        ({"seed": -1}, "seed: -1 is not within [0, 2147483647]"),
        ({"splits": {"test_fraction": 0}}, "splits.test_fraction: 0 is not within (0, 1]"),
        ({"project_format": "yolo", "annotations_file": "a.json"}, "annotations_file: 'a.json' is a COCO file, but"),
    ],
)
def test_schema_errors_name_key_value_and_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError) as err:
        validate_config(config(**overrides))
    assert message in str(err.value)
    assert "config/config.yaml" in str(err.value)


def test_base_at_640_is_rejected_with_the_nearest_valid_sizes():
    with pytest.raises(ConfigError) as err:
        validate_config(config(training={"model": "base", "image_size": 640}))
    assert "multiple of 56" in str(err.value)
    assert "nearest valid: 616 or 672" in str(err.value)


def test_nearest_resolutions():
    assert nearest_resolutions(640, 56) == [616, 672]
    assert nearest_resolutions(100, 32) == [96, 128]
    assert nearest_resolutions(10, 32) == [32]


def test_valid_sizes_pass():
    assert validate_config(config(training={"model": "medium", "image_size": 640}))["training"]["image_size"] == 640
    assert validate_config(config(training={"model": "base", "image_size": 560}))["training"]["model"] == "base"


def test_split_fractions_must_leave_training_frames():
    with pytest.raises(ConfigError, match="valid_fraction \\+ test_fraction = 1 - must be below 1"):
        validate_config(config(splits={"valid_fraction": 0.5, "test_fraction": 0.5}))


def test_a_gpu_allocation_fits_its_time_limit_training_gets_the_rest():
    allocation = validate_config(config())["gpu_allocation"]
    assert allocation == {
        "gpus_per_node": 8,
        "runs_per_gpu": 1,
        "cpus_per_gpu": 8,
        "time_limit_minutes": 1440,
        "evaluate_minutes": 20,
        "infer_minutes_per_video": 20,
    }
    assert gpu_job_minutes(allocation, 2) == {"train": 1380, "evaluate": 20, "infer": 20}  # 1380 + 20 + 2 x 20 = 24 h
    assert gpu_job_minutes({**allocation, "time_limit_minutes": 600}, 5) == {"train": 480, "evaluate": 20, "infer": 20}
    assert gpu_job_minutes(allocation, 0)["train"] == 1420


def test_a_gpu_allocation_that_leaves_no_hour_of_training_is_refused():
    allocation = {"time_limit_minutes": 180, "evaluate_minutes": 30, "infer_minutes_per_video": 30}
    assert gpu_job_minutes(allocation, 3)["train"] == 60
    with pytest.raises(
        ConfigError,
        match=r"gpu_allocation: time_limit_minutes 180 leaves 30 minute\(s\) for training "
        r"after evaluate_minutes 30 and infer_minutes_per_video 30 x 4 test video\(s\) - at least 60",
    ):
        gpu_job_minutes(allocation, 4)


def test_a_run_asks_for_at_most_the_gpus_of_one_node():
    assert validate_config(config())["training"]["gpus"] == 1
    assert validate_config(config(training={"gpus": 8}))["training"]["gpus"] == 8
    with pytest.raises(
        ConfigError,
        match=r"training.gpus: 5 is more than a GPU node has \(gpu_allocation.gpus_per_node: 4\) - a run trains on one "
        r"node; allowed: 1 to 4",
    ):
        validate_config(config(training={"gpus": 5}, gpu_allocation={"gpus_per_node": 4}))
    with pytest.raises(ConfigError, match=r"training.gpus: 0 is not within \[1, inf\)"):
        validate_config(config(training={"gpus": 0}))
    # DDP's arguments are the workflow's: not in extra
    for key in ("devices", "strategy"):
        with pytest.raises(ConfigError, match=f"training.extra: {key} set by the workflow itself"):
            validate_config(config(training={"extra": {key: 2}}))


def test_training_extra_is_checked_against_rfdetr():
    with pytest.raises(ConfigError, match="unknown rfdetr train\\(\\) argument\\(s\\) warmup_epoch\\b"):
        validate_config(config(training={"extra": {"warmup_epoch": 1}}))
    with pytest.raises(ConfigError, match="epochs set by the workflow itself"):
        validate_config(config(training={"extra": {"epochs": 3}}))
    # every key train_kwargs sets is the workflow's, those without a training.* key too
    for key in ("tensorboard", "log_per_class_metrics", "device", "expanded_scales", "progress_bar"):
        with pytest.raises(ConfigError, match=f"training.extra: {key} set by the workflow itself"):
            validate_config(config(training={"extra": {key: True}}))
    ok = validate_config(config(training={"extra": {"warmup_epochs": 1.0}}))
    assert ok["training"]["extra"] == {"warmup_epochs": 1.0}
    # the values as rfdetr reads them, at the dry run rather than in the GPU job
    with pytest.raises(ConfigError, match=r"training.extra.best_model_metric: 'mAP' - Input should be 'map' or 'mar'"):
        validate_config(config(training={"extra": {"best_model_metric": "mAP"}}))
    with pytest.raises(ConfigError, match=r"training.extra.grad_accum_steps: 'two' - Input should be a valid integer"):
        validate_config(config(training={"extra": {"grad_accum_steps": "two"}}))
    # a value rfdetr would replace with a warning (an unknown amp_dtype becomes 'auto'): refused
    with pytest.raises(ConfigError, match=r"rfdetr would not take it as written - Unknown amp_dtype='bfloat16'"):
        validate_config(config(training={"extra": {"amp_dtype": "bfloat16"}}))


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_experiment_unknown_class(tmp_path):
    p = write(tmp_path / "x.yaml", {"name": "x", "frame_sample_fractions": {"persn": 0.5}})
    with pytest.raises(ConfigError) as err:
        load_experiment(p, ["crane hook", "person"])
    assert str(p) in str(err.value)
    assert "unknown class 'persn'" in str(err.value)
    assert "known classes: crane hook, person" in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"frame_sample_fractions": {"person": 10.5}}, r"frame_sample_fractions.person: 10.5 is not within \(0, 10\]"),
        ({"frame_sample_fractions": {"person": 0}}, r"frame_sample_fractions.person: 0 is not within \(0, 10\]"),
        (
            {"frame_sample_fractions": {"person": 2.0}, "oversample": {"person": 2}},
            r"oversample: 'person' also has a frame_sample_fractions value above 1",
        ),
        ({"frame_sample_fractions": {}, "oversample": {"persn": 2}}, r"oversample: unknown class 'persn'"),
        ({"frame_sample_fractions": {}, "oversample": {"person": 0.5}}, r"oversample.person: 0.5 is not within \[1, 10\]"),
        ({"frame_sample_fractions": {}, "repeat_factor": {"threshold": 0}}, r"repeat_factor.threshold: 0 is not within \(0, 1\]"),
        (
            {"frame_sample_fractions": {}, "repeat_factor": {"threshold": 1.5}},
            r"repeat_factor.threshold: 1.5 is not within \(0, 1\]",
        ),
        (
            {"frame_sample_fractions": {}, "repeat_factor": {"threshold": 0.3, "mode": "log"}},
            r"repeat_factor.mode: 'log' is not allowed - one of: sqrt, linear",
        ),
        (
            {"frame_sample_fractions": {}, "repeat_factor": {"threshold": 0.3, "max_repeats": 0.5}},
            r"repeat_factor.max_repeats: 0.5 is not within \[1, inf\)",
        ),
        ({"frame_sample_fractions": {}, "repeat_factor": {"mode": "sqrt"}}, r"'threshold' is a required property"),
        (
            {"frame_sample_fractions": {}, "class_loss_weights": {"method": "effective_number", "beta": 1.0}},
            r"class_loss_weights.beta: 1.0 is not within \(0, 1\)",
        ),
        (
            {"frame_sample_fractions": {}, "class_loss_weights": {"method": "inverse_frequency", "beta": 0.9, "power": 1}},
            r"class_loss_weights: beta is not a setting of method 'inverse_frequency' - remove it",
        ),
        ({"frame_sample_fractions": {}, "class_loss_weights": {"persn": 2.0}}, r"class_loss_weights: unknown class 'persn'"),
        ({"frame_sample_fractions": {}, "class_loss_weights": {"person": 0}}, r"class_loss_weights.person: 0 is not within"),
    ],
)
def test_experiment_sampling_values_out_of_range(tmp_path, content, message):
    p = write(tmp_path / "x.yaml", {"name": "x", **content})
    with pytest.raises(ConfigError, match=message):
        load_experiment(p, ["person"])


def test_remedy_defaults(tmp_path):
    p = write(tmp_path / "x.yaml", {"name": "x", "frame_sample_fractions": {"person": 0.25}, "repeat_factor": {"threshold": 0.3}})
    experiment = load_experiment(p, ["person"])
    assert experiment.repeat_factor == {"threshold": 0.3, "mode": "sqrt", "max_repeats": 8, "frequency": "images"}
    assert experiment.oversample == {} and experiment.remedied


def test_experiment_name_must_equal_the_stem(tmp_path):
    p = write(tmp_path / "exp_a.yaml", {"name": "exp_b", "frame_sample_fractions": {}})
    with pytest.raises(ConfigError, match="'exp_b' must equal the file name stem 'exp_a'"):
        load_experiment(p, ["person"])


def test_experiment_fractions_default_to_one(tmp_path):
    p = write(tmp_path / "e.yaml", {"name": "e", "frame_sample_fractions": {"person": 0.25}})
    exp = load_experiment(p, ["crane hook", "person"])
    assert exp.fractions_for(["crane hook", "person"]) == {"crane hook": 1.0, "person": 0.25}


def test_shipped_experiments_load():
    repo = Path(__file__).resolve().parents[3]
    c = validate_config(yaml.safe_load((repo / "config" / "config.yaml").read_text()))
    exps = load_experiments(c, repo)
    assert list(exps) == ["exp_person_100", "exp_person_25", "exp_person_50", "exp_person_75"]
    assert exps["exp_person_25"].fractions_for(c["classes"]) == {"crane hook": 1.0, "person": 0.25}
    remedies = load_experiments({**c, **yaml.safe_load((repo / "config" / "remedies.yaml").read_text())}, repo)
    remedied = {name for name, e in remedies.items() if e.remedied}
    assert remedied == {"person_25_rfs", "person_25_irfs", "person_25_oversampled", "person_25_class_weighted"}
    assert remedies["person_25_irfs"].repeat_factor["frequency"] == "images_and_instances"


def test_experiment_files_of_both_suffixes_are_read_and_hidden_files_are_not(tmp_path):
    (tmp_path / "e").mkdir()
    write(tmp_path / "e" / "a.yaml", {"name": "a", "frame_sample_fractions": {}})
    write(tmp_path / "e" / "b.yml", {"name": "b", "frame_sample_fractions": {"person": 0.5}})
    (tmp_path / "e" / "._a.yaml").write_bytes(b"\x00\x05\x16\x07\xe0")  # macOS's copy of a file's attributes
    (tmp_path / "e" / ".#a.yaml").symlink_to("nowhere")  # an editor's lock
    c = validate_config(config(experiments_dir="e"))
    assert list(load_experiments(c, tmp_path)) == ["a", "b"]
    write(tmp_path / "e" / "b.yaml", {"name": "b", "frame_sample_fractions": {}})
    with pytest.raises(ConfigError, match=r"has experiment 'b' twice \(.yaml and .yml\) - keep one file per experiment"):
        load_experiments(c, tmp_path)


def test_an_experiment_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes("name: a\ndescription: Person \u00e0 10%\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"a.yaml: experiment file is not UTF-8 text \(byte 0xe0 at line 2"):
        load_experiment(path, ["person"])


def test_experiment_selection(tmp_path):
    (tmp_path / "e").mkdir()
    for n in ("a", "b"):
        write(tmp_path / "e" / f"{n}.yaml", {"name": n, "frame_sample_fractions": {}})
    c = validate_config(config(experiments_dir="e", experiments=["b"]))
    assert list(load_experiments(c, tmp_path)) == ["b"]
    with pytest.raises(ConfigError, match="experiments: b named more than once"):
        load_experiments(validate_config(config(experiments_dir="e", experiments=["b", "a", "b"])), tmp_path)
    with pytest.raises(ConfigError, match="no experiment file for c"):
        load_experiments(validate_config(config(experiments_dir="e", experiments=["c"])), tmp_path)


def test_a_class_weighted_loss_is_a_remedy_and_reaches_the_runs_settings(tmp_path):
    spec = {"method": "effective_number", "beta": 0.999}
    p = write(tmp_path / "x.yaml", {"name": "x", "frame_sample_fractions": {"person": 0.25}, "class_loss_weights": spec})
    experiment = load_experiment(p, ["person"])
    assert experiment.class_loss_weights == spec and experiment.remedied
    plain = load_experiment(write(tmp_path / "y.yaml", {"name": "y", "frame_sample_fractions": {"person": 0.25}}), ["person"])
    assert plain.class_loss_weights is None and not plain.remedied


def test_a_config_without_training_extra_is_checked_without_the_training_code():
    """The study layer reaches the training code (train_kwargs, for the keys training.extra may not set)
    only where training.extra is set: tests/unit/test_layers.py KNOWN_INVERSIONS."""
    import subprocess
    import sys

    from conftest import SCRIPTS

    probe = (
        "import sys; from detexp.study.config import validate_config; "
        "validate_config({'project_dir': 'p', 'classes': ['person']{extra}}); "
        "print(sorted(m for m in sys.modules if m.startswith(('detexp.train', 'detexp.test', 'rfdetr', 'torch'))))"
    )

    def loaded(extra: str) -> str:
        run = subprocess.run([sys.executable, "-c", probe.replace("{extra}", extra)], cwd=SCRIPTS, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert loaded("") == "[]"
    assert "detexp.train.training" in loaded(", 'training': {'extra': {'weight_decay': 0.001}}")
