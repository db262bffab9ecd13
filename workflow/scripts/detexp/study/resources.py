"""What a run's GPU allocation asks SLURM for: the time limits of the rules that share it."""

from __future__ import annotations

from .config import CONFIG_SOURCE
from .validation import ConfigError

# A training of fewer minutes than this in a GPU allocation is a setting mistake, not a plan.
MIN_TRAINING_MINUTES = 60


def gpu_job_minutes(allocation: dict[str, int], n_videos: int) -> dict[str, int]:
    """SLURM time limits (minutes) of the rules that need a GPU, from `gpu_allocation`.

    A run's training, evaluation and inference on every test video share one allocation, whose time
    limit is the sum of theirs (Snakemake adds up the runtimes of a job group's jobs that run one
    after another). Training gets what the others leave of `time_limit_minutes`, so the allocation
    asks for exactly that; evaluation or inference alone (a rerun) ask for their own minutes."""
    evaluate = allocation["evaluate_minutes"]
    infer = allocation["infer_minutes_per_video"]
    train = allocation["time_limit_minutes"] - evaluate - n_videos * infer
    if train < MIN_TRAINING_MINUTES:
        raise ConfigError(
            f"{CONFIG_SOURCE}: gpu_allocation: time_limit_minutes {allocation['time_limit_minutes']} leaves "
            f"{train} minute(s) for training after evaluate_minutes {evaluate} and infer_minutes_per_video {infer} "
            f"x {n_videos} test video(s) - at least {MIN_TRAINING_MINUTES} are needed: raise time_limit_minutes "
            "(up to the GPU partition's limit) or lower the other two"
        )
    return {"train": train, "evaluate": evaluate, "infer": infer}
