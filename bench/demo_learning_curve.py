"""Benchmark: what RF-DETR Nano learns on the bundled demo in CPU minutes - test AP50 per class against
training seconds (BENCHMARKS.md's curve, and the reason for config/demo.yaml's epochs and lr).

In a copy of the workflow, the demo's reference run (exp_person_100) is trained by the workflow for each
number of epochs given (each a training of its own, with its own learning-rate schedule), then scored
on the demo's held-out test split by the evaluate rule; optionally at several learning rates.
Usage: python bench/demo_learning_curve.py [--epochs 1 2 4 6] [--lr 3.0e-4] [--replicates 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
RUN = "exp_person_100"


def copy_workflow(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in files.stdout.split():
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)


def train_and_score(workdir: Path, epochs: int, lr: float, replicate: int) -> dict:
    run = RUN if replicate == 0 else f"{RUN}__rep{replicate}"
    config = [f"training={{epochs: {epochs}, lr: {lr}}}", f"experiments=[{RUN}]", "test_videos=[]"]
    if replicate:
        config.append(f"replicates={replicate + 1}")
    target = f"results/{run}/evaluation/metrics.json"
    subprocess.run(
        [SNAKEMAKE, "--configfile", "config/demo.yaml", "--cores", "2", "--config", *config, "--", target],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    metrics = json.loads((workdir / target).read_text())
    summary = json.loads((workdir / f"results/{run}/training/training_summary.json").read_text())
    return {
        "epochs": epochs,
        "lr": lr,
        "replicate": replicate,
        "train_s": summary["wall_time_s"],
        "ap50": {c: round(v["AP_50"], 3) for c, v in metrics["per_class"].items()},
        "ap50_95": {c: round(v["AP_50_95"], 3) for c, v in metrics["per_class"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--lr", type=float, nargs="+", default=[3.0e-4])
    parser.add_argument("--replicates", type=int, default=1, help="trainings per setting (seed, seed + 1, ...)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        copy_workflow(workdir)
        for lr in args.lr:
            for epochs in args.epochs:
                for replicate in range(args.replicates):
                    row = train_and_score(workdir, epochs, lr, replicate)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print("\n| lr | epochs | replicate | train s | test AP50 crane hook / person | test AP50:95 crane hook / person |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ap50, ap = r["ap50"], r["ap50_95"]
        print(
            f"| {r['lr']:g} | {r['epochs']} | {r['replicate']} | {r['train_s']:.0f} | "
            f"{ap50['crane hook']:.2f} / {ap50['person']:.2f} | {ap['crane hook']:.2f} / {ap['person']:.2f} |"
        )


if __name__ == "__main__":
    main()
