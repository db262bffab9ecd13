"""The workflow stays `snakemake --lint`, `snakefmt --check` and ruff (ruff.toml) clean; entry scripts
work as CLIs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SCRIPTS, snakemake

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    proc = snakemake(REPO, "--lint", "--configfile", "config/demo.yaml", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_snakemake_lint_runs_as_the_readme_tells_a_newcomer(workflow_copy):
    """Plain `snakemake --lint` in a fresh checkout, whose config names a project not there yet."""
    assert "snakemake --lint" in (REPO / "docs/development.md").read_text()
    proc = snakemake(workflow_copy, "--lint", check=False)
    assert proc.returncode == 0 and "Congratulations, your workflow is in a good condition!" in proc.stdout, proc.stdout[-3000:]
    # a dry run still refuses the missing project
    proc = snakemake(workflow_copy, "-n", check=False)
    assert proc.returncode != 0 and "project_dir: data/projects/Test does not exist" in proc.stdout


def test_snakefmt_is_clean():
    proc = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# Scripts only a rule runs (no user calls them by hand): they say so instead of parsing arguments.
RULE_ONLY_SCRIPTS = {
    "train.py",
    "adjust_logits.py",
    "aggregate.py",
    "compare_pairs.py",
    "findings.py",
    "plot_video_strip.py",
    "make_demo_project.py",
    "summarize.py",
    "plot_comparison.py",
    "resolve_config.py",
    "training_plan.py",
    "record_code_versions.py",
    "link_training.py",
    "link_evaluation.py",
    "link_inference.py",
    "train_pack.py",
}


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]])
def test_python_is_ruff_clean(command):
    proc = subprocess.run([str(BIN / "ruff"), *command, "workflow", "tests", "bench"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py") if p.name not in RULE_ONLY_SCRIPTS))
def test_entry_scripts_have_a_command_line(script):
    proc = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")


@pytest.mark.parametrize("script", sorted(RULE_ONLY_SCRIPTS))
def test_rule_only_scripts_say_so_from_the_command_line(script):
    proc = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip().endswith("is run by the workflow's rule, not from the command line")


def test_prepare_dataset_benchmark_runs():
    """Smoke test only: the figures belong in BENCHMARKS.md, not in assertions."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "prepare_dataset.py"), "--frames", "400", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio copy / prepare one:" in proc.stdout


def test_dry_run_scale_benchmark_runs():
    """Smoke test only (two small sizes): the figures belong in BENCHMARKS.md."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "dry_run_scale.py"), "--cases", "2x1x1", "2x2x2", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # 7 per run, 10 study-wide; the plain twin of the same shape
    assert re.search(r"2x2x2: +8 runs +66 jobs .* plain +66 jobs", proc.stdout), proc.stdout


def test_bootstrap_resample_benchmark_runs():
    """Smoke test only (a tiny split): the figures belong in BENCHMARKS.md."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bootstrap_resample.py"), "--images", "30", "--samples", "3", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.startswith("30 images,") and "ratio anew / per image:" in proc.stdout, proc.stdout


def test_the_conda_environment_pins_what_the_venv_pins():
    """environment.yml (the rules' conda env) and requirements.txt + scripts/setup.sh (.venv/) must
    not drift apart: every package of the conda env is pinned to the same version in the venv."""
    import re

    import yaml

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_pins = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    venv_pins = set(re.findall(r"^\S+==\S+", (REPO / "requirements.txt").read_text(), flags=re.M))
    venv_pins |= set(re.findall(r"\b(torch(?:vision)?==\S+)", (REPO / "scripts/setup.sh").read_text()))
    assert len(conda_pins) > 10 and set(conda_pins) <= venv_pins, set(conda_pins) - venv_pins


def test_a_component_that_cannot_run_skips_here_and_fails_in_ci(tmp_path):
    (tmp_path / "test_probe.py").write_text(
        "from conftest import unavailable\n\ndef test_probe():\n    unavailable('no widget: port taken')\n"
    )
    (tmp_path / "conftest.py").write_text((REPO / "tests/conftest.py").read_text())
    runs = {}
    for ci in ("", "true"):
        env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci else {})
        runs[ci] = subprocess.run(
            [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    skip_lines = [line for line in runs[""].stdout.splitlines() if line.startswith("SKIPPED [1]")]  # -rs shows why
    assert runs[""].returncode == 0 and len(skip_lines) == 1 and skip_lines[0].endswith(": no widget: port taken")
    assert runs["true"].returncode == 1
    assert "no widget: port taken - in CI (CI=true) this fails instead of skipping" in runs["true"].stdout
