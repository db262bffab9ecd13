"""Snakemake whose SLURM executor checks job states at the fixed --seconds-between-status-checks.

The SLURM plugin waits 10 s longer after every status check that finds no job finished, up to 3
minutes: right for a cluster's hours-long jobs, but a test's jobs last seconds, and each would be
seen to end half a minute or more after it did. Only the SLURM tests use this; the profile is the
shipped one. Usage: python tests/snakemake_steady_polling.py <snakemake arguments>
"""

from __future__ import annotations

import inspect
import sys

import snakemake_executor_plugin_slurm as slurm
from snakemake.cli import main

# The plugin's back-off writes this attribute; the executor base class sleeps for what it reads. If
# a plugin release renames it, say so rather than poll slowly without a word.
if "self.next_seconds_between_status_checks =" not in inspect.getsource(slurm.Executor):
    raise SystemExit("snakemake_executor_plugin_slurm no longer backs off through next_seconds_between_status_checks")
slurm.Executor.next_seconds_between_status_checks = property(
    lambda self: self.workflow.remote_execution_settings.seconds_between_status_checks,
    lambda self, backed_off: None,
)

if __name__ == "__main__":
    sys.argv[0] = "snakemake"
    sys.exit(main())
