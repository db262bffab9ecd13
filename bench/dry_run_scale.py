"""Benchmark: how long `snakemake -n` takes to build the DAG as a study grows.

Writes N experiment files (person fractions spread over (0, 1]) into a copy of the workflow with the
demo config, then times a dry run (the demo project is generated first, so the DAG is the real one:
prepare, resolve, train, evaluate, infer per video, summarize per experiment). Repeats each size and
prints the median, with `snakemake -n` on 4 experiments as the baseline.
Usage: python bench/dry_run_scale.py [--sizes 4 36 1000] [--repeats 3]
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
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def copy_workflow(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in files.stdout.split():
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)


def write_experiments(folder: Path, n: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(n):
        person = round((i + 1) / n, 6)
        (folder / f"exp_{i:04d}.yaml").write_text(
            f"name: exp_{i:04d}\ndescription: person at {person}\nframe_sample_fractions: {{person: {person}}}\n"
        )


def dry_run(workdir: Path, experiments_dir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        [SNAKEMAKE, "-n", "--quiet", "rules", "--configfile", "config/demo.yaml", "--config", f"experiments_dir={experiments_dir}"],
        cwd=workdir, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    totals = [int(line.split()[-1]) for line in proc.stdout.splitlines() if line.strip().startswith("total")]
    jobs = totals[0] if totals else 0  # the job table is printed twice
    return elapsed, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 36, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp)
        copy_workflow(wf)
        subprocess.run([SNAKEMAKE, "--configfile", "config/demo.yaml", "--cores", "1", "make_demo_project"],
                       cwd=wf, capture_output=True, check=True)
        folders = {n: wf / f"experiments_{n}" for n in args.sizes}
        for n, folder in folders.items():
            write_experiments(folder, n)
        times: dict[int, list[float]] = {n: [] for n in args.sizes}
        jobs: dict[int, int] = {}
        for _ in range(args.repeats):  # interleaved: every size once per round
            for n, folder in folders.items():
                elapsed, jobs[n] = dry_run(wf, folder)
                times[n].append(elapsed)
    base = statistics.median(times[args.sizes[0]])
    print(f"snakemake -n, demo config, {args.repeats} repeats (median)")
    for n in args.sizes:
        med = statistics.median(times[n])
        print(f"  {n:>5} experiments  {jobs[n]:>6} jobs  {med:6.1f} s  ({med / base:.1f}x the {args.sizes[0]}-experiment run)")


if __name__ == "__main__":
    main()
