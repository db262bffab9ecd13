"""A real single-node SLURM cluster with accounting, for the SLURM tests (and by hand).

Debian's slurmctld, slurmd, slurmdbd, munge and MariaDB, started directly (no systemd) and stopped
by the PIDs they were started with. The configuration goes to /etc/slurm/ (the SLURM executor's
job steps drop SLURM_CONF from their environment, so only the default path works) and is removed
again on stop; a machine whose /etc/slurm/slurm.conf was not written here is left alone. State, logs
and PID files live in a private folder. One node, partitions `cpu` (default) and `gpu-long`, node feature `h100-96` and a
count-only GPUs `gpu:h100:2`: what profiles/slurm asks of the production cluster (a run on 2 GPUs too).

    python tests/slurm_cluster.py start /tmp/slurm   # prints the export line for SLURM_CONF
    python tests/slurm_cluster.py stop /tmp/slurm
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "slurmdbd", "munge", "mariadb-server"]
BINARIES = ["slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "sbatch", "sacct", "sacctmgr", "sinfo"]
CLUSTER = "detexp-test"
ETC = Path("/etc/slurm")
MARKER = "# written by tests/slurm_cluster.py for the test suite; removed when the test cluster stops"
ACCOUNT = "imbalance"
DB_USER, DB_PASSWORD = "slurm", "slurm-test-only"
# The production node's shape, declared rather than detected (SlurmdParameters=config_overrides),
# so the shipped profile's 8 CPUs and 64 GB per GPU job are accepted on a small test machine.
NODE_CPUS, NODE_MEMORY_MB = 16, 131072


class ClusterUnavailable(RuntimeError):
    """SLURM cannot run on this machine (not root, packages not installable); the reason says why."""


def _sbin(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.path.exists(p)), None)


def ensure_packages() -> None:
    """Install the Debian packages that are missing, or raise ClusterUnavailable."""
    if all(_sbin(b) for b in BINARIES):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ClusterUnavailable("SLURM packages are missing and apt-get cannot run here (needs root on Debian)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        proc = subprocess.run(install, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterUnavailable(f"apt-get install {' '.join(PACKAGES)} failed: {proc.stderr.strip()[-500:]}")


def _wait(check, what: str, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _mariadb_answers() -> bool:
    return subprocess.run(["mariadb", "-e", "SELECT 1"], capture_output=True).returncode == 0


def _running(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
        return True
    except (OSError, ValueError):
        return False


def _ended(pid: int) -> bool:
    """Whether process `pid` has exited. A daemon this process started itself (mariadbd) stays a
    zombie that signal 0 still reaches until it is reaped: reap it here."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # not a child of this process
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return True
    return False


class SlurmCluster:
    """The cluster's files live in `base`; `env` is what a client (sbatch, Snakemake) needs."""

    def __init__(self, base: str | Path):
        self.base = Path(base).resolve()
        self.etc = ETC
        self.conf = self.etc / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.pidfiles = {
            name: self.base / "run" / f"{name}.pid" for name in ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
        }

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _write_config(self) -> None:
        for sub in ("run", "state", "spool", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.etc.mkdir(parents=True, exist_ok=True)
        b = self.base
        self.conf.write_text(
            f"""{MARKER}
ClusterName={CLUSTER}
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={self.pidfiles["slurmctld"]}
SlurmdPidFile={self.pidfiles["slurmd"]}
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu,gres/gpu:h100
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} RealMemory={NODE_MEMORY_MB} Gres=gpu:h100:2 Feature=h100-96 State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu-long Nodes=ALL MaxTime=INFINITE State=UP
"""
        )
        # slurmd drops a GPU line without File= (the node then drains): count-only GPUs on /dev/null and /dev/zero.
        (self.etc / "gres.conf").write_text(
            f"{MARKER}\nNodeName={self.host} Name=gpu Type=h100 File=/dev/null\nNodeName={self.host} Name=gpu Type=h100 File=/dev/zero\n"
        )
        dbd = self.etc / "slurmdbd.conf"
        dbd.write_text(
            f"""{MARKER}
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile={self.pidfiles["slurmdbd"]}
LogFile={b}/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser={DB_USER}
StoragePass={DB_PASSWORD}
StorageLoc=slurm_acct_db
"""
        )
        dbd.chmod(0o600)  # slurmdbd refuses a config others can read (it holds the DB password)

    def _start_munge(self) -> None:
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0:
            return  # one munged per machine; someone else's is as good
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", _sbin("munged")], check=True)
        # munged daemonizes: the PID to stop is the one it writes itself, not the first one pgrep sees
        daemon_pidfile = Path("/run/munge/munged.pid")
        _wait(
            lambda: (
                Path("/run/munge/munge.socket.2").exists() and daemon_pidfile.is_file() and daemon_pidfile.read_text().strip()
            ),
            "munged",
        )
        self.pidfiles["munged"].write_text(daemon_pidfile.read_text().strip() + "\n")

    def _start_mariadb(self) -> None:
        sock = Path("/run/mysqld/mysqld.sock")
        if not _mariadb_answers() and subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True).returncode != 0:
            # A socket left by a server that was killed (a machine restart, a cancelled CI job) answers nothing
            # and would keep a new server from being started: it is the dead server's own file.
            sock.unlink(missing_ok=True)
            Path("/run/mysqld").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/mysqld", "mysql", "mysql")
            proc = subprocess.Popen(
                [_sbin("mariadbd"), "--user=mysql", "--innodb-buffer-pool-size=512M", "--innodb-lock-wait-timeout=900"],
                stdout=open(self.base / "log" / "mariadbd.log", "w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.pidfiles["mariadbd"].write_text(f"{proc.pid}\n")
        # The socket appears before the server takes queries (crash recovery runs first): wait for an answer.
        _wait(_mariadb_answers, "mariadbd to answer on /run/mysqld/mysqld.sock", timeout=120)
        sql = (
            "CREATE DATABASE IF NOT EXISTS slurm_acct_db; "
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}'; "
            f"GRANT ALL ON slurm_acct_db.* TO '{DB_USER}'@'localhost'; FLUSH PRIVILEGES;"
        )
        proc = subprocess.run(["mariadb", "-e", sql], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"creating the accounting database failed: {proc.stderr.strip()}")

    def start(self) -> "SlurmCluster":
        """Start every daemon and wait until the node is idle (about 20 s)."""
        ensure_packages()
        if os.geteuid() != 0:
            raise ClusterUnavailable("the SLURM daemons need root")
        if self.conf.exists() and MARKER not in self.conf.read_text():
            raise ClusterUnavailable(f"{self.conf} belongs to a real SLURM installation: not touching it")
        for port in (6817, 6818, 6819):
            if _port_open(port):
                raise ClusterUnavailable(f"port {port} is taken: another SLURM is running here")
        self._write_config()
        self._start_munge()
        self._start_mariadb()
        self._run(_sbin("slurmdbd"))
        _wait(lambda: _port_open(6819), "slurmdbd on port 6819")
        for args in (
            ("add", "cluster", CLUSTER),
            ("add", "account", ACCOUNT),
            ("add", "user", "root", f"account={ACCOUNT}"),
            ("modify", "user", "root", "set", f"defaultaccount={ACCOUNT}"),
        ):
            self._run("sacctmgr", "-i", *args, check=False)  # exits 1 for what already exists
        self._run(_sbin("slurmctld"), "-f", str(self.conf))
        self._run(_sbin("slurmd"), "-f", str(self.conf))
        _wait(lambda: self._node_state() in ("idle", "drained", "drain"), "the node to register", timeout=90)
        if self._node_state() != "idle":
            self._run("scontrol", "update", f"nodename={self.host}", "state=resume")
            _wait(lambda: self._node_state() == "idle", "the node to become idle")
        return self

    def _node_state(self) -> str:
        proc = self._run("sinfo", "-h", "-N", "-o", "%T", check=False)
        return proc.stdout.split()[0].rstrip("*~#") if proc.returncode == 0 and proc.stdout.split() else ""

    def stop(self) -> None:
        """Stop what this cluster started, by PID only, newest first."""
        for name in ("slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged"):
            pidfile = self.pidfiles[name]
            if not _running(pidfile):
                continue
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _ended(pid):
                time.sleep(0.2)
            pidfile.unlink(missing_ok=True)
        for name in ("slurm.conf", "gres.conf", "slurmdbd.conf"):
            path = self.etc / name
            if path.exists() and MARKER in path.read_text():
                path.unlink()

    def command(self, *cmd: str, check: bool = True) -> str:
        """A SLURM client command against this cluster (squeue, scontrol, ...); its standard output.
        With `check`, a failing command raises, naming its error."""
        return self._run(*cmd, check=check).stdout

    def sacct(self, *fields: str, job_ids: list[str] | None = None) -> list[dict[str, str]]:
        """Accounting rows (allocations only, no job steps) of all jobs or of `job_ids`."""
        cmd = ["sacct", "-X", "-a", "-P", "-n", "-o", ",".join(fields)]
        cmd += ["-j", ",".join(job_ids)] if job_ids else ["-S", "2000-01-01"]
        return [dict(zip(fields, line.split("|"))) for line in self._run(*cmd).stdout.splitlines() if line]


if __name__ == "__main__":
    action, base = sys.argv[1], sys.argv[2]
    cluster = SlurmCluster(base)
    if action == "start":
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
