"""What every entry script shares: run from Snakemake (its log file) or from the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable


def redirect_output(log_path: str) -> None:
    """Send this process's stdout and stderr (C-level writes included) to the rule's log file."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)


def log(message: str) -> None:
    """One line for the log, flushed at once so a killed job still shows it."""
    print(message, flush=True)


def entry(
    namespace: dict[str, Any],
    parser: argparse.ArgumentParser,
    from_snakemake: Callable[[Any], argparse.Namespace],
    run: Callable[[argparse.Namespace], Any],
) -> None:
    """Call `run` with arguments from Snakemake's `snakemake` object, or else from the command line."""
    smk = namespace.get("snakemake")
    if smk is not None:
        if smk.log:
            redirect_output(str(smk.log[0]))
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(from_snakemake(smk))
    elif namespace.get("__name__") == "__main__":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(parser.parse_args())
