"""Remedy settings: a bad one fails the dry run naming file, key and value; the command line takes the
schema's defaults."""

from __future__ import annotations
import pytest


def test_a_bad_remedy_fails_the_dry_run_naming_file_key_and_value(workflow_copy):
    from conftest import DEMO, snakemake

    path = workflow_copy / "config/remedies/person_25_rfs.yaml"
    path.write_text(path.read_text().replace("mode: sqrt", "mode: log"))
    proc = snakemake(workflow_copy, "-n", *DEMO, "config/remedies.yaml", check=False)
    assert proc.returncode != 0
    assert "config/remedies/person_25_rfs.yaml:\n  repeat_factor.mode: 'log' is not allowed - one of: sqrt, linear" in proc.stdout


def test_the_command_line_repeat_factor_takes_the_schema_defaults():
    """prepare_dataset.py --repeat-factor '{"threshold": 0.3}' behaves as the same experiment key."""
    import argparse

    from detexp.cli import json_setting

    parse = json_setting("repeat_factor", "experiment.schema.yaml")
    assert parse('{"threshold": 0.3}') == {"threshold": 0.3, "mode": "sqrt", "max_repeats": 8, "frequency": "images"}
    assert parse('{"threshold": 0.3, "mode": "linear"}')["mode"] == "linear"
    assert parse("null") is None
    with pytest.raises(argparse.ArgumentTypeError, match="'cubic' is not one of \\['sqrt', 'linear'\\]"):
        parse('{"threshold": 0.3, "mode": "cubic"}')
    with pytest.raises(argparse.ArgumentTypeError, match="'threshold' is a required property"):
        parse('{"mode": "sqrt"}')


def test_matched_remedies_carry_their_baselines_epochs_and_training_set_and_others_nothing_new(workflow_copy):
    """training.match_images_seen: each remedied run's training settings name its baseline (its
    epochs and dataset, whose training split becomes an input); the baselines' settings, and every
    run's without the setting, keep exactly the keys they had (no finished training reruns)."""
    import json

    from conftest import DEMO, snakemake

    probe = (
        '{rid: {"training": training_settings(RUNS[rid]), "baseline_set": matched_baseline_training_set(SimpleNamespace(run=rid))} '
        "for rid in RUNS}"
    )
    (workflow_copy / "probe.smk").write_text(
        f'import json\ninclude: "Snakefile"\nfrom types import SimpleNamespace\nprint("PROBE " + json.dumps({probe}))\nsys.exit(0)\n'
    )

    def settings(*extra):
        args = ("-n", "-s", "probe.smk", *DEMO, "config/remedies.yaml", *extra)
        out = snakemake(workflow_copy, *args).stdout
        return json.loads(out.split("PROBE ", 1)[1].splitlines()[0])

    plain = settings()
    matched = settings(
        "--config",
        "training={match_images_seen: true, epochs: 3, image_size: 64, batch_size: 4, pretrain_weights: none, multi_scale: false, num_workers: 0}",
    )
    for rid in ("person_25_rfs", "person_25_irfs", "person_25_oversampled", "person_25_class_weighted"):
        assert matched[rid]["training"]["match_images_seen"] == {
            "baseline": "person_25",
            "baseline_epochs": 3,
            "baseline_dataset_dir": "results/person_25/dataset",
        }, rid
        assert matched[rid]["baseline_set"] == ["results/person_25/dataset/train/_annotations.coco.json"]
    for rid in ("person_25", "person_100"):
        assert "match_images_seen" not in matched[rid]["training"] and matched[rid]["baseline_set"] == []
    assert all("match_images_seen" not in s["training"] and s["baseline_set"] == [] for s in plain.values())
