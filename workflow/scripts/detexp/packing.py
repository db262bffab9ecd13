"""A pack's GPU allocation (gpu_allocation.runs_per_gpu; which runs: detexp.study.packs): its runs' trainings
at the same time on the one GPU, then their evaluations and inferences one after another.

Each step is the step of an unpacked run - training.train, evaluation.run_evaluation_or_reuse,
inference.run_inference_or_reuse, with the same arguments - in a process of its own that writes the
run's own log (logs/train/<run>.log and so on), so a run's results, reuse and resumption are the same
packed or not: one training lock per run, a requeued pack resumes each unfinished training from its
last epoch and links the finished ones, and one run's failure leaves its pack-mates' work finished
(their next pack links it). Where `nvidia-cuda-mps-control` exists and a GPU is visible, the CUDA MPS
daemon is started for the pack's trainings, so that their kernels share the GPU instead of taking
turns; elsewhere the processes share it plainly.

A step runs as `python -m detexp.packing STEP.json` (not multiprocessing: a spawned child would run
the Snakemake script that started the pack again).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # workflow/scripts: where `detexp` is imported from
MPS_CONTROL = "nvidia-cuda-mps-control"


class PackFailed(RuntimeError):
    """Some runs of a pack failed; the others' results are written."""


def member_steps(member: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """A packed run's steps after its training, each (step, log file, arguments): its evaluation, then
    its inference on each test video."""
    steps = [("evaluate", member["evaluate"]["log"], member["evaluate"])]
    steps += [("infer", inference["log"], inference) for inference in member["infer"]]
    return steps


def training_waves(members: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The pack's runs whose trainings start together: first every run that trains itself, then the
    runs the training plan has share a pack-mate's training (they link it once it has finished)."""
    own = [run for run, m in members.items() if m["train"]["same_as"] not in members]
    after = [run for run in members if run not in own]
    return [wave for wave in (own, after) if wave]


@contextmanager
def mps_daemon(log: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """Run the CUDA MPS control daemon for the block where it exists and a GPU is visible; yields the
    environment its clients need (empty: no MPS)."""
    control = shutil.which(MPS_CONTROL)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if control is None or visible in ("", "-1", "NoDevFiles"):
        log("CUDA MPS: not used (no nvidia-cuda-mps-control or no GPU visible): the trainings share the GPU plainly")
        yield {}
        return
    folder = Path(tempfile.mkdtemp(prefix="mps.", dir=os.environ.get("TMPDIR")))
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(folder / "pipe"), "CUDA_MPS_LOG_DIRECTORY": str(folder / "log")}
    for path in env.values():
        Path(path).mkdir()
    started = subprocess.run([control, "-d"], env={**os.environ, **env}, capture_output=True, text=True)
    if started.returncode != 0:
        log(f"CUDA MPS: the daemon did not start ({started.stderr.strip() or started.returncode}): sharing plainly")
        yield {}
        return
    log(f"CUDA MPS: daemon started ({folder})")
    try:
        yield env
    finally:
        try:
            subprocess.run([control], input="quit\n", env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            log("CUDA MPS: the daemon did not answer 'quit' within 60 s; the allocation's end stops it")
        log("CUDA MPS: daemon stopped")


def start_step(step: str, arguments: dict[str, Any], log_path: str, env: dict[str, str], spec_dir: Path) -> subprocess.Popen:
    """Start one step (train, evaluate, infer) of a packed run in a process of its own, its output
    appended to `log_path`, with `env` added to the environment; its arguments go through a file in
    `spec_dir`."""
    spec = spec_dir / f"{step}.{len(list(spec_dir.iterdir()))}.json"
    spec.write_text(json.dumps({"step": step, "arguments": arguments}))
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "detexp.packing", str(spec)],
            cwd=os.getcwd(),
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_pack(members: dict[str, dict[str, Any]], threads_per_run: int, log: Callable[[str], None] = print) -> None:
    """Train the pack's runs (`members`: run -> its train, evaluate and infer arguments and logs) side by
    side, then evaluate and infer each whose training finished; raise PackFailed naming the runs that
    failed (after the others are done)."""
    failed: dict[str, str] = {}
    threads = {"OMP_NUM_THREADS": str(threads_per_run), "MKL_NUM_THREADS": str(threads_per_run)}
    with tempfile.TemporaryDirectory(prefix="pack.") as tmp:
        spec_dir = Path(tmp)
        # MPS for the trainings only: evaluation and inference, one at a time, take the GPU as usual
        with mps_daemon(log) as mps:
            for wave in training_waves(members):
                for run in wave:
                    source = members[run]["train"]["same_as"]
                    if source in failed:  # it was to link that training: as unpacked, it waits for none
                        failed[run] = f"the training it links (run {source}'s) failed"
                wave = [run for run in wave if run not in failed]
                if not wave:
                    continue
                started = time.monotonic()
                log(f"training {len(wave)} run(s) side by side on one GPU: {', '.join(wave)}")
                env = {**threads, **mps}
                procs = {
                    run: start_step("train", members[run]["train"], members[run]["train"]["log"], env, spec_dir) for run in wave
                }
                for run, proc in procs.items():
                    code = proc.wait()
                    if code != 0:
                        failed[run] = f"its training failed (exit {code}; {members[run]['train']['log']})"
                log(f"trainings done in {time.monotonic() - started:.0f} s")
        for run, member in members.items():
            if run in failed:
                continue
            for step, log_path, arguments in member_steps(member):
                code = start_step(step, arguments, log_path, threads, spec_dir).wait()
                if code != 0:
                    failed[run] = f"its {step} failed (exit {code}; {log_path})"
                    break
    done = [run for run in members if run not in failed]
    log(f"finished: {', '.join(done) or 'none'}")
    if failed:
        raise PackFailed(
            "; ".join(f"run {run}: {why}" for run, why in failed.items())
            + (
                f". The other runs of the pack ({', '.join(done)}) finished; their results are kept and linked at the next run"
                if done
                else ""
            )
        )


def _train(arguments: dict[str, Any]) -> None:
    from .cli import log
    from .train.shared_training import TrainingPaths
    from .train.training import train

    paths = TrainingPaths(**{name: Path(path) if path is not None else None for name, path in arguments["paths"].items()})
    train(
        arguments["dataset_dir"],
        paths,
        arguments["classes"],
        arguments["training"],
        arguments["seed"],
        arguments["pretrain_path"],
        log=log,
        same_as=arguments["same_as"],
    )


def _evaluate(arguments: dict[str, Any]) -> None:
    from .cli import log
    from .test.evaluation import run_evaluation_or_reuse

    outputs = {name: Path(path) for name, path in arguments["outputs"].items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    run_evaluation_or_reuse(
        arguments["checkpoint"], arguments["annotations"], outputs, arguments["batch_size"], log, arguments["iou_threshold"]
    )


def _infer(arguments: dict[str, Any]) -> None:
    from .cli import log
    from .test.inference import InferenceSettings, run_inference_or_reuse
    from .test.logit_adjustment import LogitAdjustment

    tau = arguments["logit_adjustment_tau"]
    adjustment = (
        None if tau is None else LogitAdjustment.of_run(float(tau), json.loads(Path(arguments["dataset_stats"]).read_text()))
    )
    settings = InferenceSettings(**arguments["settings"])
    run_inference_or_reuse(
        arguments["video"], arguments["checkpoint"], arguments["out_video"], arguments["out_json"], settings, log, adjustment
    )


STEPS: dict[str, Callable[[dict[str, Any]], None]] = {"train": _train, "evaluate": _evaluate, "infer": _infer}


def main(spec_path: str) -> None:
    """One step of a pack, as the step's own job would run it (its output goes to the run's log)."""
    from .cli import QUIET_WARNINGS, _show_each_warning_once

    spec = json.loads(Path(spec_path).read_text())
    os.environ["TERM"] = "dumb"  # rfdetr's Rich tables in a log file: no colour codes
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _show_each_warning_once()
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=FutureWarning)
    if os.environ.get("SLURM_JOB_ID"):
        print(f"running in SLURM job {os.environ['SLURM_JOB_ID']} (a pack of runs) on {os.uname().nodename}", flush=True)
    try:
        STEPS[spec["step"]](spec["arguments"])
    except Exception as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr, flush=True)
        raise


if __name__ == "__main__":
    main(sys.argv[1])
