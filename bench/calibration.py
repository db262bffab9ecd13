"""Benchmark: are the study's verdicts calibrated? Planted nulls and a planted effect on the learnable demo.

The workflow trains a pool of runs on the bundled demo (config/demo.yaml, CPU): N replicates of the
reference (every frame; replicates differ in the training seed only) and N of person at 25% (each
replicate also draws its own frames). Comparisons are then formed from the pool and judged the way
findings.md judges them (detexp.report.verdicts: a claim where the 95% interval excludes 0):

- planted null, seeds: reference replicates against other reference replicates (same data and
  settings, other seeds): the true difference is 0 for every class;
- planted null, draws: 25% replicates against other 25% replicates (other seeds and other draws of
  the same fractions);
- planted effect: person at 25% against the reference: the right sign is "lower" for person.

Each at R = 1 (the images-only interval of one training per run, detexp.report.bootstrap.paired_bootstrap),
and R = 2 up to half the pool per side (the nulls: 2R runs of one pool), up to 5 (the effect) (the
two-level interval, detexp.report.bootstrap.two_level_bootstrap, and, for comparison, a Welch t-interval over
the replicates' APs on the whole test split). Comparisons are
disjoint draws from the pool (K of each kind, not independent: they share runs). Prints a Markdown
table: claim rate (planted nulls: should be <= 5-7%; 1 - it is the coverage of the true 0) and power
(planted effect, right sign).

Usage: python bench/calibration.py [--pool 7] [--comparisons 40] [--samples 300] [--workdir DIR]
(about 90 s a training on 2 cores: a pool of 7 + 7 takes about 25 minutes)
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow/scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_learning_curve import SNAKEMAKE, copy_workflow  # noqa: E402
from detexp.report.bootstrap import paired_bootstrap, two_level_bootstrap  # noqa: E402
from detexp.layout import DATASET_SPLIT_ANNOTATIONS, EVAL_PREDICTIONS, RESULTS_DIR, run_file  # noqa: E402

TEST_ANNOTATIONS = DATASET_SPLIT_ANNOTATIONS.format(split="test")

EXPERIMENTS = {"reference": "exp_person_100", "person 25%": "exp_person_25"}
METRIC = "AP_50_95"
# The largest R of the planted effect (the replicates a verdict needs to find it)
MAX_EFFECT_REPLICATES = 5


def run_id(experiment: str, replicate: int) -> str:
    return experiment if replicate == 0 else f"{experiment}__rep{replicate}"


def train_pool(workdir: Path, pool: int) -> None:
    targets = [str(run_file(RESULTS_DIR, run_id(e, r), EVAL_PREDICTIONS)) for e in EXPERIMENTS.values() for r in range(pool)]
    config = [f"experiments=[{', '.join(EXPERIMENTS.values())}]", f"replicates={pool}", "test_videos=[]"]
    subprocess.run(
        [SNAKEMAKE, "--configfile", "config/demo.yaml", "--cores", "2", "--config", *config, "--", *targets],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def welch_interval(a: list[float], b: list[float]) -> tuple[float, float]:
    """95% Welch t-interval of mean(b) - mean(a) from replicate-level values."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return 0.0, 0.0
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * se
    d = b.mean() - a.mean()
    return d - half, d + half


def claims(low: float, high: float) -> int:
    """-1 (lower), +1 (higher) or 0 (no claim), as detexp.report.verdicts decides from an interval."""
    if np.isnan(low) or np.isnan(high) or low <= 0 <= high:
        return 0
    return 1 if low > 0 else -1


def disjoint_draws(a: list[str], b: list[str] | None, r: int, k: int, rng: random.Random) -> list[tuple[list[str], list[str]]]:
    """K comparisons of r runs against r others (from one pool when `b` is None: disjoint sets)."""
    if b is None:
        candidates = [
            (list(x), list(y))
            for x in itertools.combinations(a, r)
            for y in itertools.combinations(a, r)
            if not set(x) & set(y) and x < y
        ]
    else:
        candidates = [(list(x), list(y)) for x in itertools.combinations(a, r) for y in itertools.combinations(b, r)]
    rng.shuffle(candidates)
    return candidates[:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=int, default=7, help="replicates of each experiment trained")
    parser.add_argument("--comparisons", type=int, default=40, help="K comparisons of each kind and R")
    parser.add_argument("--samples", type=int, default=300, help="bootstrap resamples per comparison")
    parser.add_argument("--workdir", type=Path, help="a folder to train in (kept; rerun reuses its trainings)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        if not (workdir / "Snakefile").exists():
            workdir.mkdir(parents=True, exist_ok=True)
            copy_workflow(workdir)
        train_pool(workdir, args.pool)
        pools = {name: [run_id(e, r) for r in range(args.pool)] for name, e in EXPERIMENTS.items()}
        gt = json.loads(run_file(workdir / RESULTS_DIR, pools["reference"][0], TEST_ANNOTATIONS).read_text())
        predictions = {
            rid: json.loads(run_file(workdir / RESULTS_DIR, rid, EVAL_PREDICTIONS).read_text())
            for rids in pools.values()
            for rid in rids
        }
        report(gt, predictions, pools, args)


def report(gt: dict, predictions: dict, pools: dict[str, list[str]], args: argparse.Namespace) -> None:
    from detexp.test.evaluation import ResampledAP

    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    person = next(c for c, n in names.items() if n == "person")
    everything = None
    whole: dict[str, dict[int, float]] = {}
    for rid, p in predictions.items():
        scorer = ResampledAP(gt, p)
        everything = scorer.image_positions([img["id"] for img in gt["images"]]) if everything is None else everything
        whole[rid] = {c: v[METRIC] for c, v in scorer.per_category(everything).items()}
    print("\nper-run test AP50:95 (class: values over the pool)")
    for name, rids in pools.items():
        for c, n in names.items():
            values = [whole[r][c] for r in rids]
            print(f"  {name}, {n}: " + " ".join(f"{v:.3f}" for v in values) + f"  (sd {np.std(values, ddof=1):.3f})")
    rng = random.Random(0)
    kinds = {
        "planted null: seeds (reference vs reference)": (pools["reference"], None, None),
        "planted null: draws (25% vs 25%)": (pools["person 25%"], None, None),
        "planted effect: person 25% vs reference": (pools["reference"], pools["person 25%"], person),
    }
    rows = []
    for kind, (a, b, effect_class) in kinds.items():
        # a planted null needs 2R runs of one pool; the effect draws each side from its own pool
        for r in range(1, (len(a) // 2 if b is None else min(len(a), len(b), MAX_EFFECT_REPLICATES)) + 1):
            draws = disjoint_draws(a, b, r, args.comparisons, rng)
            outcomes = {"images only" if r == 1 else "two-level bootstrap": [], "t-interval over replicates": []}
            for ref, other in draws:
                if r == 1:
                    result = paired_bootstrap(gt, predictions[ref[0]], predictions[other[0]], args.samples, seed=len(rows))
                    methods = {"images only": result}
                else:
                    result = two_level_bootstrap(
                        gt, [predictions[x] for x in ref], [predictions[x] for x in other], args.samples, seed=len(rows)
                    )
                    methods = {"two-level bootstrap": result}
                for method, res in methods.items():
                    for c in names if effect_class is None else [effect_class]:
                        row = res[c][METRIC]
                        outcomes[method].append(claims(row["ci95_low"], row["ci95_high"]))
                if r > 1:
                    for c in names if effect_class is None else [effect_class]:
                        low, high = welch_interval([whole[x][c] for x in ref], [whole[x][c] for x in other])
                        outcomes["t-interval over replicates"].append(claims(low, high))
            for method, found in outcomes.items():
                if not found:
                    continue
                if effect_class is None:
                    rate = np.mean([f != 0 for f in found])
                    rows.append(
                        (
                            kind,
                            r,
                            method,
                            len(found),
                            f"claims a difference in {100 * rate:.0f}% (coverage of 0: {100 * (1 - rate):.0f}%)",
                        )
                    )
                else:
                    right = np.mean([f == -1 for f in found])
                    wrong = np.mean([f == 1 for f in found])
                    rows.append(
                        (
                            kind,
                            r,
                            method,
                            len(found),
                            f"finds it, right sign: {100 * right:.0f}% (wrong sign: {100 * wrong:.0f}%)",
                        )
                    )
            print(rows[-1], flush=True)
    print("\n| comparison | R per side | interval | comparisons (x classes) | result |")
    print("|---|---|---|---|---|")
    for kind, r, method, n, text in rows:
        print(f"| {kind} | {r} | {method} | {n} | {text} |")
    print("\nPlanning (approximate power; effect = difference / between-replicate sd, pooled over both sides):")
    print(planning_table())


def planning_table(effects=(0.5, 1.0, 1.5, 2.0, 3.0), replicates=(2, 3, 4, 5, 6, 8, 10)) -> str:
    """How often a difference of `effects` training-noise standard deviations would be claimed at R
    replicates per side: the widened two-level interval read as the t-test it approximates (pooled
    variance, 2(R-1) degrees of freedom; test-image noise, which adds to it, left out), so a guide for
    planning a study, to be checked against the measured rows above."""
    from scipy import stats

    lines = [
        "| effect (training-noise sd) | " + " | ".join(f"R = {r}" for r in replicates) + " |",
        "|---|" + "---|" * len(replicates),
    ]
    for effect in effects:
        cells = []
        for r in replicates:
            dof, shift = 2 * (r - 1), effect * np.sqrt(r / 2)
            critical = stats.t.ppf(0.975, dof)
            power = stats.nct.sf(critical, dof, shift) + stats.nct.cdf(-critical, dof, shift)
            cells.append(f"{100 * power:.0f}%")
        lines.append(f"| {effect:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
