"""Shared helpers: the core package on sys.path, copies of the workflow, Snakemake runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def copy_workflow(dest: Path) -> Path:
    """A copy of the repository's workflow files (what git would check out), without results."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def copy_run(source: Path, dest: Path) -> Path:
    """A copy of a finished workflow run that other tests can change, sharing no file with it.

    Files hard-linked within the run (a training's checkpoint in its state folder and among the
    outputs, results and their .made_from records) stay linked within the copy, never to the source:
    Snakemake touches a job's outputs, and a touch of an inode shared with the source would make the
    source's later jobs stale."""
    copied: dict[tuple[int, int], str] = {}

    def copy_once(src: str, dst: str) -> None:
        info = os.stat(src)
        first = copied.get((info.st_dev, info.st_ino))
        if first is not None and info.st_nlink > 1:
            os.link(first, dst)
            return
        shutil.copy2(src, dst)
        copied[(info.st_dev, info.st_ino)] = dst

    shutil.copytree(source, dest, symlinks=True, copy_function=copy_once)
    return dest


def readme_local_rules() -> set[str]:
    """The rules the SLURM page's request table (docs/slurm.md) says run on the login node (its `none:` row)."""
    readme = (REPO / "docs/slurm.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| none: "))
    return set(re.findall(r"`(\w+)`", row.split("|")[1]))


def snakemake(
    workdir: Path,
    *args: str,
    check: bool = True,
    timeout: int = 1800,
    env: dict[str, str] | None = None,
    command: tuple[str, ...] = (SNAKEMAKE,),
) -> subprocess.CompletedProcess:
    """Run Snakemake (`command`) in `workdir` with `env` added to the environment; output in .stdout
    (stderr merged)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(
        [*command, *args], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


def unavailable(reason: str) -> None:
    """A real component (the SLURM test cluster, Chromium) cannot run: skip here, fail in CI.

    CI (CI=true) has every component these tests need, so a skip there would hide a broken check."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} - in CI (CI=true) this fails instead of skipping", pytrace=False)
    pytest.skip(reason)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake (dry) run, as rule -> count (no 'all', no 'total')."""
    counts: dict[str, int] = {}
    if "Job stats:" not in output:
        return counts
    table = output.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) not in ("all", "total"):
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "wf")


# The demo at the test suite's size (tests/demo_quick.yaml over config/demo.yaml)
DEMO = ("--configfile", "config/demo.yaml", "tests/demo_quick.yaml")
# Threshold 0 keeps every query of the barely trained model, so the box checks have boxes to check.
DEMO_RUN = (*DEMO, "--config", "inference={threshold: 0.0}")


DEMO_RUN_OUTPUT = "demo_run_output.txt"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The whole demo workflow, really run once per session (real RF-DETR training and inference)."""
    wf = copy_workflow(tmp_path_factory.mktemp("e2e"))
    out = snakemake(wf, *DEMO_RUN, "--cores", "2").stdout
    (wf.parent / DEMO_RUN_OUTPUT).write_text(out)  # what the user saw (its end: the findings)
    return wf


@pytest.fixture(scope="session")
def demo_checkpoint(demo_run) -> Path:
    return demo_run / "results/exp_person_100/training/checkpoint_best_total.pth"


# The layout: unit/ (the core, one file per module or stage, no Snakemake), workflow/ (dry runs, single
# jobs, style), e2e/ (whole runs: the demo, the SLURM cluster, a deployment). `--fast` (scripts/test.sh
# --fast) runs unit/ without the tests that need a trained demo model or a training of their own.
UNIT_TESTS = Path(__file__).resolve().parent / "unit"
SLOW_FIXTURES = {"demo_run", "demo_checkpoint", "workflow_copy", "early_stopped", "study", "cluster", "slurm_run"}


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true", help="only the core's unit tests (no Snakemake run, training, cluster)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--fast"):
        return
    slow = [
        item
        for item in items
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
        or not Path(item.path).is_relative_to(UNIT_TESTS)
        or item.get_closest_marker("slow")
    ]
    config.hook.pytest_deselected(items=slow)
    items[:] = [item for item in items if item not in slow]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: left out by --fast (a real run or training the fixtures do not show)")
