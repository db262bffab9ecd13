"""One training per run at a time: a live holder stops a second training, a dead one's lock is taken over."""

from __future__ import annotations
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
import pytest
from detexp.train.runlock import STALE_AFTER_S, TrainingLock, TrainingLockedError, process_start, this_process


def write_lock(path: Path, age_s: float = 0.0, **holder) -> None:
    record = {**this_process(), "started": "2026-01-01 00:00:00 +0000", **holder}
    path.write_text(json.dumps(record))
    then = time.time() - age_s
    os.utime(path, (then, then))


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_live_training_on_this_machine_stops_a_second_one(tmp_path, sleeper):
    lock = tmp_path / "training.lock"
    write_lock(lock, pid=sleeper.pid, process_start=process_start(sleeper.pid), slurm_job_id="4711")
    before = lock.read_text()
    with pytest.raises(TrainingLockedError) as err:
        TrainingLock(lock, "results/r/training").acquire()
    message = str(err.value)
    assert (
        f"another training of run results/r/training is live (host {socket.gethostname()}, PID {sleeper.pid}, SLURM job 4711"
        in message
    )
    assert "its process is running on this machine" in message and "scancel 4711" in message
    assert lock.read_text() == before  # the live holder's lock is left alone


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path, sleeper):
    lock = tmp_path / "training.lock"
    pid, start = sleeper.pid, process_start(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    write_lock(lock, pid=pid, process_start=start)
    messages: list[str] = []
    with TrainingLock(lock, "r", messages.append):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert messages == [
        f"taking over the training lock {lock} of a training that is gone (host {socket.gethostname()}, PID {pid}, "
        "started 2026-01-01 00:00:00 +0000: its process has ended)"
    ]
    assert not lock.exists()  # released at the end


def test_a_reused_pid_does_not_keep_a_dead_lock(tmp_path, sleeper):
    lock = tmp_path / "training.lock"
    write_lock(lock, pid=sleeper.pid, process_start="1")  # same PID, another process
    with TrainingLock(lock, "r", lambda m: None):
        pass


def test_another_machine_counts_by_its_heartbeat(tmp_path):
    lock = tmp_path / "training.lock"
    write_lock(lock, age_s=60, host="gpu-node-7", pid=12345, slurm_job_id="99")
    with pytest.raises(TrainingLockedError, match=r"host gpu-node-7, PID 12345, SLURM job 99.*last heartbeat was 60 s ago"):
        TrainingLock(lock, "r").acquire()
    write_lock(lock, age_s=STALE_AFTER_S + 5, host="gpu-node-7", pid=12345, slurm_job_id="99")
    messages: list[str] = []
    with TrainingLock(lock, "r", messages.append):
        pass
    assert "no heartbeat for 305 s" in messages[0]


def test_a_requeued_slurm_job_takes_over_its_own_earlier_lock(tmp_path, monkeypatch):
    lock = tmp_path / "training.lock"
    write_lock(lock, host="gpu-node-7", pid=1, slurm_job_id="321")
    monkeypatch.setenv("SLURM_JOB_ID", "321")
    messages: list[str] = []
    with TrainingLock(lock, "r", messages.append):
        assert json.loads(lock.read_text())["slurm_job_id"] == "321"
    assert "an earlier start of this same SLURM job (requeued)" in messages[0]


def test_the_heartbeat_renews_the_lock(tmp_path, monkeypatch):
    import detexp.train.runlock as runlock

    monkeypatch.setattr(runlock, "HEARTBEAT_S", 0.05)
    lock = tmp_path / "training.lock"
    with TrainingLock(lock, "r"):
        os.utime(lock, (0, 0))
        time.sleep(0.3)
        assert time.time() - lock.stat().st_mtime < 5
