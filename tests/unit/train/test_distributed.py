"""One run on several GPUs: the images an epoch shows over every process, the arguments rfdetr gets,
what refuses to start, and how rank 0 hands its training to the ranks it launches."""

from __future__ import annotations

import os

import pytest

from detexp.train.distributed import (
    CPU_DDP_ENV,
    MIN_TRAIN_BATCHES,
    WORKER_ENV,
    check_devices,
    ddp_arguments,
    handed_to_launched_ranks,
    images_per_epoch,
    launched_rank,
    worker_training,
)


def test_min_train_batches_is_rfdetrs_own():
    from rfdetr.training import module_data

    assert MIN_TRAIN_BATCHES == module_data._MIN_TRAIN_BATCHES


@pytest.mark.parametrize(
    "entries, effective_batch, world_size, images",
    [
        (56, 4, 1, 56),  # whole batches
        (57, 4, 1, 60),  # padded to a whole batch
        (14, 4, 1, 20),  # fewer than 5 batches: drawn with replacement up to 5 x 4
        (56, 4, 2, 56),  # 7 batches of 4 on each of 2 processes
        (30, 4, 2, 40),  # "too small for DDP": repeated up to 5 x 4 on each process
        (100, 8, 2, 112),  # batch 4 x accumulation 2 on 2 processes: padded to a multiple of 16
    ],
)
def test_images_per_epoch_against_a_hand_computation(entries, effective_batch, world_size, images):
    assert images_per_epoch(entries, effective_batch, world_size) == images


def test_images_seen_by_rfdetrs_own_dataloader(tmp_path):
    """The rule against rfdetr's training dataloader itself: its length x batch size, on one process and
    on two (world size as Lightning's trainer gives it)."""
    from types import SimpleNamespace

    import torch
    from rfdetr.training.module_data import GradAccumAlignedDataset

    for entries, batch, world in [(14, 4, 1), (30, 4, 2), (57, 4, 1), (56, 4, 2)]:
        dataset = torch.utils.data.TensorDataset(torch.arange(entries))
        minimum = MIN_TRAIN_BATCHES * batch * world
        if world == 1 and entries < MIN_TRAIN_BATCHES * batch:
            shown = MIN_TRAIN_BATCHES * batch  # the replacement sampler's num_samples
        else:
            shown = len(GradAccumAlignedDataset(dataset, batch, world, minimum_length=minimum if world > 1 else None))
        assert images_per_epoch(entries, batch, world) == shown, SimpleNamespace(entries=entries, world=world)


def test_one_gpu_adds_no_argument_and_several_ask_for_ddp():
    assert ddp_arguments(1) == {}  # a one-GPU training's arguments (and digest) are what they were
    assert ddp_arguments(4) == {"devices": 4, "strategy": "ddp"}


def test_a_multi_gpu_training_without_the_gpus_is_refused_naming_the_key(monkeypatch):
    monkeypatch.delenv(CPU_DDP_ENV, raising=False)
    check_devices(1, "cpu", 0)
    check_devices(2, "cuda", 2)
    with pytest.raises(ValueError, match=r"training.gpus is 2, but this machine has 0 GPU\(s\)"):
        check_devices(2, "cpu", 0)
    with pytest.raises(ValueError, match=r"training.gpus is 4, but this machine has 2 GPU\(s\)"):
        check_devices(4, "cuda", 2)
    monkeypatch.setenv(CPU_DDP_ENV, "1")  # the tests' CPU processes
    check_devices(2, "cpu", 0)


def test_rank_zero_hands_its_training_to_the_ranks_it_launches_and_hides_slurms_task_count(monkeypatch):
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with handed_to_launched_ranks({"kwargs": {"epochs": 2}}, gpus=2):
        assert worker_training() == {"kwargs": {"epochs": 2}}
        assert "SLURM_NTASKS" not in os.environ  # Lightning launches the ranks itself
        assert not launched_rank()  # rank 0 itself: no LOCAL_RANK
        monkeypatch.setenv("LOCAL_RANK", "1")
        assert launched_rank()
        monkeypatch.setenv("LOCAL_RANK", "0")
        assert not launched_rank()
    assert WORKER_ENV not in os.environ and os.environ["SLURM_NTASKS"] == "1"
    with handed_to_launched_ranks({}, gpus=1):
        assert os.environ["SLURM_NTASKS"] == "1"  # one GPU: nothing hidden
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert not launched_rank()  # a LOCAL_RANK without a handed training is not ours
