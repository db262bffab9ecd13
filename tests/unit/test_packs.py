"""packs and packing: which runs share a GPU allocation (gpu_allocation.runs_per_gpu), the time their
trainings get, and the pack job's order of steps and its failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from detexp.packing import PackFailed, member_steps, mps_daemon, run_pack, training_waves
from detexp.study.packs import describe_packs, pack_minutes, plan_packs, run_benchmarks
from detexp.schemas import checked_setting
from detexp.study.validation import ConfigError

ALLOCATION = {"runs_per_gpu": 2, "time_limit_minutes": 1440, "evaluate_minutes": 20, "infer_minutes_per_video": 20}


def _points(runs: list[str]) -> dict[str, str]:
    """Each run's experiment point, as detexp.study.runs.Run.point gives it (the id without its replicate)."""
    return {run: run.split("__rep")[0] for run in runs}


def test_a_points_replicates_are_packed_k_to_an_allocation_and_left_over_runs_together():
    runs = ["b", "a__rep1", "a", "c", "d"]
    # a's two replicates fill a pack; b, c and d are left over: b and c share one, d keeps its own
    assert plan_packs(_points(runs), 2) == {"pack1": ["a", "a__rep1"], "pack2": ["b", "c"]}
    assert plan_packs(_points(runs), 3) == {"pack1": ["a", "a__rep1", "b"], "pack2": ["c", "d"]}
    assert plan_packs(_points(runs), 1) == {} and plan_packs(_points(["a"]), 4) == {}
    names = list(plan_packs(_points([f"r{i:02d}" for i in range(20)]), 2))
    assert names[0] == "pack01" and names[-1] == "pack10"  # sorted as text, in pack order
    three = [f"{e}{rep}" for e in ("a", "b") for rep in ("", "__rep1", "__rep2")]
    assert plan_packs(_points(three), 2) == {
        "pack1": ["a", "a__rep1"],
        "pack2": ["a__rep2", "b__rep2"],  # the left-over replicates
        "pack3": ["b", "b__rep1"],
    }


def _study(experiments: tuple[str, ...], replicates: int) -> dict[str, str]:
    return _points([e + (f"__rep{r}" if r else "") for e in experiments for r in range(replicates)])


def test_packs_stay_as_they_were_when_a_study_gains_an_experiment_or_replicates():
    """A pack whose runs change runs again (only to link its runs' results, but in a GPU allocation):
    what is added leaves the other points' packs alone. In plain name order, a run added before
    others moves every pack after it."""
    before = plan_packs(_study(("exp_b", "exp_c"), 3), 2)
    assert before == {
        "pack1": ["exp_b", "exp_b__rep1"],
        "pack2": ["exp_b__rep2", "exp_c__rep2"],
        "pack3": ["exp_c", "exp_c__rep1"],
    }
    # an experiment that sorts first: only the pack of left-over replicates changes
    grown = plan_packs(_study(("exp_a", "exp_b", "exp_c"), 3), 2)
    assert [before[p] in grown.values() for p in before] == [True, False, True]
    # replicates 2 -> 3: every pack of the first two is kept
    two = plan_packs(_study(("exp_b", "exp_c"), 2), 2)
    assert all(runs in before.values() for runs in two.values()) and len(two) == 2


def test_a_pack_trains_for_what_its_evaluations_and_inferences_leave():
    assert pack_minutes(ALLOCATION, n_videos=2, pack_size=2) == 1440 - 2 * (20 + 2 * 20)
    with pytest.raises(
        ConfigError, match=r"runs_per_gpu 2 leaves 30 minute\(s\) .*pack of 2 runs, .*\(120 minutes\).*at least 60"
    ):
        pack_minutes({**ALLOCATION, "time_limit_minutes": 150}, n_videos=2, pack_size=2)


def test_the_dry_run_line_names_each_pack_and_counts_the_rest():
    packs = plan_packs(_points([f"r{i}" for i in range(14)]), 2)
    line = describe_packs(packs)
    # in name order, as text: r10 comes before r2
    assert line.startswith(
        "14 runs packed into 7 GPU allocations (gpu_allocation.runs_per_gpu): pack1 = r0, r1; pack2 = r10, r11; "
    )
    assert line.endswith("pack5 = r4, r5; and 2 more")
    assert describe_packs({"pack1": ["a", "b"]}).startswith("2 runs packed into 1 GPU allocation (")


def _member(run: str, same_as: str | None = None, videos: tuple[str, ...] = ("v",)) -> dict:
    return {
        "train": {"same_as": same_as, "log": f"logs/train/{run}.log"},
        "evaluate": {"log": f"logs/evaluate/{run}.log"},
        "infer": [{"log": f"logs/infer/{run}/{v}.log"} for v in videos],
    }


def test_runs_that_link_a_pack_mates_training_start_after_it_and_steps_follow_training():
    members = {"a": _member("a"), "b": _member("b", same_as="a"), "c": _member("c", same_as="elsewhere")}
    assert training_waves(members) == [["a", "c"], ["b"]]
    assert training_waves({"a": _member("a")}) == [["a"]]
    steps = member_steps(_member("a", videos=("v1", "v2")))
    assert [(step, log) for step, log, _ in steps] == [
        ("evaluate", "logs/evaluate/a.log"),
        ("infer", "logs/infer/a/v1.log"),
        ("infer", "logs/infer/a/v2.log"),
    ]


def test_failed_trainings_are_named_with_their_logs_and_nothing_runs_after_them(tmp_path, monkeypatch):
    """Each training runs in a process of its own writing its run's log; a failure there is reported
    once every training of the pack has ended, and the failed runs are not evaluated."""
    monkeypatch.chdir(tmp_path)
    members = {}
    for run in ("a", "b", "c"):
        member = _member(run, same_as="a" if run == "c" else None)
        member["train"].update(
            dataset_dir=str(tmp_path / f"missing_{run}"),
            paths={
                "state_dir": f"results/{run}/training/state",
                "lock": f"results/{run}/training/training.lock",
                "checkpoint": f"results/{run}/training/checkpoint_best_total.pth",
                "class_info": f"results/{run}/training/class_info.json",
                "metrics": f"results/{run}/training/metrics.csv",
                "summary": f"results/{run}/training/training_summary.json",
                "study_dir": "results",
                "job_log": None,
                "kept_log": None,
            },
            classes=["crane hook", "person"],
            training=checked_setting(
                {"model": "nano", "epochs": 1, "pretrain_weights": "none"}, "training", "config.schema.yaml"
            ),
            seed=1,
            pretrain_path=None,
        )
        members[run] = member
    logged: list[str] = []
    with pytest.raises(PackFailed) as failed:
        run_pack(members, threads_per_run=1, log=logged.append)
    message = str(failed.value)
    # c was to link a's training, which failed: it is not started (unpacked, its job would wait for none)
    assert "run c: the training it links (run a's) failed" in message
    assert not (tmp_path / "logs/train/c.log").exists()
    for run in ("a", "b"):
        assert f"run {run}: its training failed (exit 1; logs/train/{run}.log)" in message
        assert "missing_" + run in (tmp_path / f"logs/train/{run}.log").read_text()
        assert not (tmp_path / f"logs/evaluate/{run}.log").exists()
    assert "training 2 run(s) side by side on one GPU: a, b" in logged and logged[-1] == "finished: none"


def test_a_packed_runs_timings_are_its_packs_job_and_an_unpacked_runs_its_own_jobs():
    assert run_benchmarks("b", ["v1", "v2"], "pack1", 2) == {
        "prepare_dataset": "benchmarks/prepare_dataset/b.tsv",
        "pack1 (train, evaluate and infer of 2 runs)": "benchmarks/packs/pack1.tsv",
    }
    assert run_benchmarks("c", ["v1", "v2"]) == {
        "prepare_dataset": "benchmarks/prepare_dataset/c.tsv",
        "train": "benchmarks/train/c.tsv",
        "evaluate": "benchmarks/evaluate/c.tsv",
        "infer v1": "benchmarks/infer/c/v1.tsv",
        "infer v2": "benchmarks/infer/c/v2.tsv",
    }


def _mps_control(tmp_path, monkeypatch, start_exit: int = 0) -> None:
    """An `nvidia-cuda-mps-control` on PATH that records how it is called (this machine has no GPU), a
    GPU visible and the job's TMPDIR at tmp_path."""
    folder = tmp_path / "bin"
    folder.mkdir()
    control = folder / "nvidia-cuda-mps-control"
    control.write_text(
        "#!/bin/sh\n"
        'calls="$CUDA_MPS_LOG_DIRECTORY/../calls"\n'
        'if [ "$1" = "-d" ]; then echo "start $CUDA_MPS_PIPE_DIRECTORY" >> "$calls"; exit ' + str(start_exit) + "; fi\n"
        'echo "said $(cat)" >> "$calls"\n'
    )
    control.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")


def test_the_mps_daemon_lives_in_the_jobs_tmpdir_for_the_block_and_is_told_to_quit(tmp_path, monkeypatch):
    _mps_control(tmp_path, monkeypatch)
    logged: list[str] = []
    with mps_daemon(logged.append) as env:
        pipe = Path(env["CUDA_MPS_PIPE_DIRECTORY"])
        assert pipe.is_dir() and Path(env["CUDA_MPS_LOG_DIRECTORY"]).is_dir() and pipe.parent.parent == tmp_path
        calls = pipe.parent / "calls"
        assert calls.read_text().splitlines() == [f"start {pipe}"]  # started for the block, not stopped yet
    assert calls.read_text().splitlines() == [f"start {pipe}", "said quit"]
    assert logged == [f"CUDA MPS: daemon started ({pipe.parent})", "CUDA MPS: daemon stopped"]

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU visible: the trainings share it plainly
    with mps_daemon(logged.append) as env:
        assert env == {}
    assert logged[-1].startswith("CUDA MPS: not used")


def test_an_mps_daemon_that_does_not_start_leaves_the_trainings_sharing_plainly(tmp_path, monkeypatch):
    _mps_control(tmp_path, monkeypatch, start_exit=1)
    logged: list[str] = []
    with mps_daemon(logged.append) as env:
        assert env == {}
    assert logged == ["CUDA MPS: the daemon did not start (1): sharing plainly"]
