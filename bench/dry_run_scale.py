"""Benchmark: how long `snakemake -n` takes to build the DAG as a study grows.

Each case is E experiment files (person fractions spread over (0, 1]) x S values of a
`training.epochs` sweep x R replicates, in a copy of the workflow with the demo config; the demo
project is generated first, so the DAG is the real one (prepare, resolve, train, evaluate, infer per
video, summarize per run). Cases run interleaved, repeated; prints the medians against the first.
Usage: python bench/dry_run_scale.py [--cases 4x1x1 4x3x3 4x25x10] [--repeats 3]
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


# The workflow's jobs, by path pattern alone: per run prepare, resolve, train, evaluate, infer per
# video and summarize; per study the code record, split, the training plan, compare, aggregate,
# findings and three plots.
PLAIN_SNAKEFILE = """
RUNS = [f"run_{i:05d}" for i in range(int(config["runs"]))]
VIDEOS = ["video_a", "video_b"]
PLOTS = ["ap_vs_fraction", "training_curves", "video_strip"]

wildcard_constraints:
    run="|".join(RUNS),

rule all:
    input: expand("results/{run}/summary.json", run=RUNS), "results/findings.md", expand("results/{plot}.png", plot=PLOTS), "results/code_digests.json"

rule record_code_versions:
    output: "results/code_digests.json"
    shell: "touch {output}"

rule split_dataset:
    output: "results/splits.json"
    shell: "touch {output}"

rule prepare_dataset:
    input: "results/splits.json"
    output: "results/{run}/dataset/train.json"
    shell: "touch {output}"

rule resolve_config:
    output: "results/{run}/config.json"
    shell: "touch {output}"

rule training_plan:
    input: expand("results/{run}/dataset/train.json", run=RUNS)
    output: "results/training_plan.json"
    shell: "touch {output}"

rule train:
    input: "results/{run}/dataset/train.json", "results/training_plan.json"
    output: "results/{run}/training/checkpoint.pth"
    shell: "touch {output}"

rule evaluate:
    input: "results/{run}/training/checkpoint.pth"
    output: "results/{run}/evaluation/metrics.json"
    shell: "touch {output}"

rule infer:
    input: "results/{run}/training/checkpoint.pth"
    output: "results/{run}/inference/{video}.json"
    shell: "touch {output}"

rule summarize:
    input: "results/{run}/config.json", "results/{run}/evaluation/metrics.json", expand("results/{{run}}/inference/{video}.json", video=VIDEOS)
    output: "results/{run}/summary.json"
    shell: "touch {output}"

rule compare_pairs:
    input: expand("results/{run}/evaluation/metrics.json", run=RUNS)
    output: "results/comparison_stats.csv"
    shell: "touch {output}"

rule aggregate:
    input: expand("results/{run}/summary.json", run=RUNS), "results/comparison_stats.csv"
    output: "results/comparison.csv"
    shell: "touch {output}"

rule findings:
    input: "results/comparison.csv"
    output: "results/findings.md"
    shell: "touch {output}"

rule plot:
    input: "results/comparison.csv"
    output: "results/{plot}.png"
    shell: "touch {output}"
"""


def timed_dry_run(workdir: Path, *args: str) -> tuple[float, int]:
    """`snakemake -n --quiet rules *args` in `workdir`: seconds and jobs (the job table is printed twice)."""
    start = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, "-n", "--quiet", "rules", *args], cwd=workdir, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    totals = [int(line.split()[-1]) for line in proc.stdout.splitlines() if line.strip().startswith("total")]
    return elapsed, totals[0] if totals else 0


def plain_dry_run(workdir: Path, runs: int) -> tuple[float, int]:
    """The plain Snakefile of the same shape with `runs` runs."""
    return timed_dry_run(workdir, "--snakefile", "plain/Snakefile", "--directory", "plain", "--config", f"runs={runs}")


def dry_run(workdir: Path, experiments_dir: Path, sweep_values: int, replicates: int) -> tuple[float, int]:
    """The workflow with the demo config, E experiment files x S sweep values x R replicates."""
    config = [f"experiments_dir={experiments_dir}", f"replicates={replicates}"]
    if sweep_values > 1:
        config.append("sweep={training.epochs: [%s]}" % ", ".join(str(e + 1) for e in range(sweep_values)))
    return timed_dry_run(workdir, "--configfile", "config/demo.yaml", "--config", *config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["4x1x1", "4x3x3", "4x25x10"], help="EXPERIMENTSxSWEEP_VALUESxREPLICATES")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = {case: tuple(int(v) for v in case.split("x")) for case in args.cases}
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp)
        copy_workflow(wf)
        subprocess.run(
            [SNAKEMAKE, "--configfile", "config/demo.yaml", "--cores", "1", "make_demo_project"],
            cwd=wf,
            capture_output=True,
            check=True,
        )
        for n in {e for e, _, _ in cases.values()}:
            write_experiments(wf / f"experiments_{n}", n)
        (wf / "plain").mkdir()
        (wf / "plain/Snakefile").write_text(PLAIN_SNAKEFILE)
        times: dict[str, list[float]] = {case: [] for case in cases}
        plain: dict[str, list[float]] = {case: [] for case in cases}
        jobs: dict[str, int] = {}
        plain_jobs: dict[str, int] = {}
        for _ in range(args.repeats):  # interleaved: every case and its plain twin once per round
            for case, (n, values, replicates) in cases.items():
                elapsed, jobs[case] = dry_run(wf, wf / f"experiments_{n}", values, replicates)
                times[case].append(elapsed)
                elapsed, plain_jobs[case] = plain_dry_run(wf, n * values * replicates)
                plain[case].append(elapsed)
    first = statistics.median(times[args.cases[0]])
    print(f"snakemake -n, demo config, {args.repeats} repeats (median); plain: the same shape, path patterns only")
    for case, (n, values, replicates) in cases.items():
        med, bare = statistics.median(times[case]), statistics.median(plain[case])
        runs = n * values * replicates
        print(
            f"  {case:>9}: {runs:>5} runs  {jobs[case]:>6} jobs  {med:6.1f} s  ({med / first:.1f}x {args.cases[0]})"
            f"  plain {plain_jobs[case]:>6} jobs  {bare:6.1f} s  workflow / plain {med / bare:.1f}x"
        )


if __name__ == "__main__":
    main()
