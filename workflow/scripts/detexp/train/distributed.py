"""One run on several GPUs: rfdetr's Lightning DDP, one process per GPU, and what it means for the
images a training sees.

Lightning's `ddp` strategy starts the other ranks by running this process's script again
(`python <script> <args>`, with LOCAL_RANK set): under Snakemake, the rule's script with its
`snakemake` object. Rank 0 decides everything (the lock, reuse, resume, the state folder) and hands
the exact rfdetr arguments to the ranks it launches through the environment they inherit; a launched
rank only trains, and never writes the workflow's files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from typing import Any, Iterator

# The environment variable that carries rank 0's training to the ranks it launches (JSON).
WORKER_ENV = "DETEXP_DDP_TRAINING"
# Test-only: lets training.gpus > 1 run as that many CPU processes (gloo), where there is no GPU.
CPU_DDP_ENV = "DETEXP_CPU_DDP"


def launched_rank() -> bool:
    """Whether this process is a rank Lightning launched (not the one that launched them)."""
    return WORKER_ENV in os.environ and os.environ.get("LOCAL_RANK", "0") != "0"


def worker_training() -> dict[str, Any]:
    """What rank 0 handed to the ranks it launches: its model settings, weights and rfdetr arguments."""
    return json.loads(os.environ[WORKER_ENV])


# SLURM's task variables. A run's allocation has one task (Snakemake runs a rule's script once per
# job, never once per GPU); seeing them, Lightning would take that one task for the whole world and
# launch no ranks. They are hidden while a multi-GPU training starts, so that Lightning launches them.
SLURM_TASK_VARIABLES = ("SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_STEP_NUM_TASKS")


@contextlib.contextmanager
def handed_to_launched_ranks(training: dict[str, Any], gpus: int) -> Iterator[None]:
    """Rank 0's training in the environment while Lightning launches the other ranks (and, for more
    than one GPU, SLURM's task variables out of it)."""
    hidden = {k: os.environ.pop(k) for k in SLURM_TASK_VARIABLES if k in os.environ} if gpus > 1 else {}
    os.environ[WORKER_ENV] = json.dumps(training, default=str)
    try:
        yield
    finally:
        os.environ.pop(WORKER_ENV, None)
        os.environ.update(hidden)


def ddp_arguments(gpus: int) -> dict[str, Any]:
    """rfdetr train() arguments for `gpus` processes (none for one: rfdetr's single-device default)."""
    return {} if gpus == 1 else {"devices": gpus, "strategy": "ddp"}


def check_devices(gpus: int, device: str, visible_gpus: int) -> None:
    """Refuse a multi-GPU training that cannot start here, naming the key."""
    if gpus == 1:
        return
    if device == "cpu" and os.environ.get(CPU_DDP_ENV) == "1":
        return
    if device != "cuda" or visible_gpus < gpus:
        raise ValueError(
            f"training.gpus is {gpus}, but this machine has {visible_gpus if device == 'cuda' else 0} GPU(s) - "
            "give each run's allocation that many GPUs (profiles/slurm does), or set training.gpus to at most that"
        )


# rfdetr's own rule (rfdetr.training.module_data.RFDETRDataModule.train_dataloader, 1.11): an epoch has
# at least this many effective batches per process; a shorter training set is drawn with replacement
# (one process) or repeated (DDP) up to it.
MIN_TRAIN_BATCHES = 5


def images_per_epoch(entries: int, effective_batch: int, world_size: int = 1) -> int:
    """The training images one epoch shows, over all processes: the training set's entries (repeated
    frames counted), raised to rfdetr's minimum of MIN_TRAIN_BATCHES effective batches per process,
    and padded to a whole number of effective batches on every process (effective batch: batch size x
    gradient accumulation)."""
    unit = effective_batch * world_size
    return math.ceil(max(entries, MIN_TRAIN_BATCHES * unit) / unit) * unit
