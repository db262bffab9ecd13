"""Remedy settings: a bad one fails the dry run naming file, key and value; the command line takes the
schema's defaults."""

from __future__ import annotations
import pytest


def test_a_bad_remedy_fails_the_dry_run_naming_file_key_and_value(workflow_copy):
    from conftest import snakemake

    path = workflow_copy / "config/remedies/person_25_rfs.yaml"
    path.write_text(path.read_text().replace("mode: sqrt", "mode: log"))
    proc = snakemake(workflow_copy, "-n", "--configfile", "config/demo.yaml", "config/remedies.yaml", check=False)
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
