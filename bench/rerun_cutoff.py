"""Benchmark: the demo's rerun after a change that alters no output, against a full rerun.

A no-op statement added to the dataset module makes Snakemake rerun every job downstream of
dataset preparation. With early cutoff, train links its finished training and evaluate and infer
link their results of identical inputs (no model loaded). Compared, interleaved over several
repeats, in one finished copy of the demo:
  - cutoff: a new no-op statement in workflow/scripts/detexp/data/project.py, then `snakemake`;
  - no cutoff for evaluate and infer: the same, with their `.made_from` records deleted first (what
    the rerun cost before they cut off early; train still links its finished training);
  - full: `results/` deleted, then `snakemake` (every job computes; the demo project is kept).
Prints the median wall time of each and the ratios.
Usage: python bench/rerun_cutoff.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from detexp.test.reuse import MADE_FROM  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
DEMO = ("--configfile", "config/demo.yaml", "--cores", "2")


def copy_workflow(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in files.stdout.split():
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(src.read_bytes())


def snakemake(workdir: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([SNAKEMAKE, *DEMO, *args], cwd=workdir, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp)
        copy_workflow(wf)
        print(f"first run of the demo: {snakemake(wf):.0f} s", flush=True)
        dataset = wf / "workflow/scripts/detexp/data/project.py"
        times: dict[str, list[float]] = {"cutoff": [], "no cutoff for evaluate and infer": [], "full": []}
        for repeat in range(args.repeats):
            dataset.write_text(dataset.read_text() + f"\n_NO_OP_{repeat}_A = None\n")
            times["cutoff"].append(snakemake(wf))
            dataset.write_text(dataset.read_text() + f"\n_NO_OP_{repeat}_B = None\n")
            for record in (wf / "results").glob(f"*/*/{MADE_FROM}"):
                shutil.rmtree(record)
            times["no cutoff for evaluate and infer"].append(snakemake(wf))
            shutil.rmtree(wf / "results")
            times["full"].append(snakemake(wf))
            print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.0f} s" for k, v in times.items()), flush=True)
    cutoff = statistics.median(times["cutoff"])
    for name, values in times.items():
        print(f"median {name}: {statistics.median(values):.0f} s ({statistics.median(values) / cutoff:.1f}x the cutoff rerun)")


if __name__ == "__main__":
    main()
