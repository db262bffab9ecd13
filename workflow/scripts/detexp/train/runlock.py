"""One training of a run at a time, on this machine or any other that shares the results folder.

A training holds a lock file beside its state folder while it runs: who holds it (host, PID,
SLURM job id) and a heartbeat (the file's modification time, renewed every `HEARTBEAT_S`). A
second training of the same run stops at once naming the live one; a lock left by a process that
is gone (killed with SIGKILL, its node lost) is taken over, with a log line.

A holder counts as gone when: it ran earlier in this very SLURM job (requeued, so SLURM ended it);
it ran on this machine since its last boot and its process no longer exists; it ran on this
machine before a reboot; or, on another machine, its heartbeat is older than `STALE_AFTER_S`.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0


class TrainingLockedError(RuntimeError):
    """Another training of the same run is live."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _boot_id() -> str | None:
    return _read(Path("/proc/sys/kernel/random/boot_id"))


def process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot), or None if there is no such process.

    Together with the PID this names one process: a PID reused by a later process has another start."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name (field 2) may hold spaces


def this_process() -> dict[str, Any]:
    """What a lock records of its holder."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "process_start": process_start(pid),
        "boot_id": _boot_id(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def describe(holder: dict[str, Any]) -> str:
    job = f", SLURM job {holder['slurm_job_id']}" if holder.get("slurm_job_id") else ""
    return f"host {holder.get('host')}, PID {holder.get('pid')}{job}, started {holder.get('started')}"


def holder_state(holder: dict[str, Any], heartbeat_age_s: float) -> tuple[bool, str]:
    """(live, why) for the holder of a lock whose heartbeat is `heartbeat_age_s` old."""
    me = this_process()
    if holder.get("slurm_job_id") and holder["slurm_job_id"] == me["slurm_job_id"]:
        return False, "an earlier start of this same SLURM job (requeued)"
    if holder.get("host") == me["host"]:
        if holder.get("boot_id") != me["boot_id"]:
            return False, "this machine has restarted since"
        start = process_start(int(holder.get("pid", -1)))
        if start is None or start != holder.get("process_start"):
            return False, "its process has ended"
        return True, "its process is running on this machine"
    if heartbeat_age_s > STALE_AFTER_S:
        return False, f"no heartbeat for {heartbeat_age_s:.0f} s (more than {STALE_AFTER_S:.0f} s)"
    return True, f"its last heartbeat was {heartbeat_age_s:.0f} s ago"


class TrainingLock:
    """Context manager: hold `path` while training `run`, or raise TrainingLockedError."""

    def __init__(
        self, path: str | Path, run: str, log: Callable[[str], None] = print, kept_log: str | Path | None = None
    ) -> None:
        self.path, self.run, self.log = Path(path), run, log
        self.me = this_process()
        if kept_log is not None:
            self.me["log"] = str(kept_log)  # where the holder's log stays whole
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _try_create(self) -> bool:
        """Create the lock atomically (link of a complete file); False if one exists."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{self.me['host']}.{self.me['pid']}")
        tmp.write_text(json.dumps(self.me) + "\n")
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink()

    def acquire(self) -> None:
        for _ in range(3):
            if self._try_create():
                self._heartbeat = threading.Thread(target=self._beat, name="training-lock-heartbeat", daemon=True)
                self._heartbeat.start()
                return
            try:
                holder = json.loads(self.path.read_text())
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                continue  # released meanwhile
            except (OSError, ValueError):
                holder, age = {}, time.time() - self.path.stat().st_mtime
            live, why = holder_state(holder, age)
            if live:
                raise TrainingLockedError(
                    f"another training of run {self.run} is live ({describe(holder)}; {why}) - not starting a "
                    f"second one into the same state. Wait for it, or stop it (kill {holder.get('pid')} on "
                    f"{holder.get('host')}"
                    + (f", or scancel {holder['slurm_job_id']}" if holder.get("slurm_job_id") else "")
                    + f"); its lock is {self.path}"
                    + (f", its log {holder['log']}" if holder.get("log") else "")
                )
            self.log(f"taking over the training lock {self.path} of a training that is gone ({describe(holder)}: {why})")
            stale = self.path.with_name(f"{self.path.name}.stale-{self.me['pid']}")
            try:
                os.rename(self.path, stale)
                stale.unlink()
            except FileNotFoundError:
                continue
        raise TrainingLockedError(f"could not take the training lock {self.path} of run {self.run}")

    def _ours(self) -> bool:
        try:
            holder = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        return holder.get("host") == self.me["host"] and holder.get("pid") == self.me["pid"]

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                pass

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if self._ours():
            self.path.unlink()

    def __enter__(self) -> "TrainingLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
