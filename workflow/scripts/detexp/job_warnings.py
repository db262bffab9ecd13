"""The `warning:` lines a study's jobs wrote to their logs, gathered and grouped by kind: the
"Warnings" section at the top of findings.md (and so the report and the end of a run)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "warning: "
# Each kind by a phrase of the messages that report it (the messages are this package's own); the
# first match wins, and a message no phrase matches is listed as "other", never dropped.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kept shares above the requested ones", re.compile(r"of its training frames")),
    ("frames lost to frame_sampling: exact", re.compile(r"to frame_sampling: exact")),
    ("clips in more than one split", re.compile(r"in more than one split")),
    ("boxes dropped", re.compile(r"zero width or height")),
    ("images that cannot be read", re.compile(r"cannot be (read|decoded)|truncated|undecodable")),
    ("trainings not reused", re.compile(r"trains anew|is not linked")),
)
OTHER = "other"


@dataclass(frozen=True)
class JobWarning:
    kind: str
    log: str
    message: str


def kind_of(message: str) -> str:
    return next((kind for kind, pattern in KINDS if pattern.search(message)), OTHER)


def read_warnings(logs: Iterable[str | Path]) -> list[JobWarning]:
    """Every distinct `warning:` line of the logs that exist (a job not run yet has none), in order."""
    seen: dict[tuple[str, str], JobWarning] = {}
    for log in logs:
        path = Path(log)
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith(PREFIX):
                message = line.removeprefix(PREFIX)
                seen.setdefault((str(log), message), JobWarning(kind_of(message), str(log), message))
    return list(seen.values())


def grouped(warnings: Iterable[JobWarning]) -> Mapping[str, list[JobWarning]]:
    """The warnings by kind, in KINDS' order, "other" last."""
    order = [kind for kind, _ in KINDS] + [OTHER]
    groups: dict[str, list[JobWarning]] = {}
    for warning in sorted(warnings, key=lambda w: order.index(w.kind)):
        groups.setdefault(warning.kind, []).append(warning)
    return groups


def warnings_section(warnings: Iterable[JobWarning]) -> list[str]:
    """The Markdown lines of the "Warnings" section (none when no job warned)."""
    groups = grouped(warnings)
    if not groups:
        return []
    total = sum(len(g) for g in groups.values())
    lines = ["", "## Warnings", "", f"The study's jobs logged {total} warning(s), by kind; each names its log.", ""]
    for kind, members in groups.items():
        lines += [f"**{kind}** ({len(members)})", ""]
        lines += [f"- `{w.log}`: {w.message}" for w in members]
        lines += [""]
    return lines[:-1]
