"""Which code each rule's jobs were made with, recorded where a study's results are (the local job
record_code_versions writes it): per entry script, its behaviour digest and its definitions digest
(detexp.codeversion), each mapped to the code param its jobs ran with.

A rule's code param is the recorded one where either key is found: a docstring or comment edit keeps
the behaviour, a move of definitions between modules (a new layout of the package) keeps the
definitions, and nothing reruns. Code not recorded (a new study, or results made before any record)
gets its syntax-tree digest, the param earlier versions gave it: an upgrade recomputes nothing. Read
at DAG build only.
"""

from __future__ import annotations

import json
from pathlib import Path

from .codeversion import behaviour_digest, code_digest, definitions_digest, imported_modules


class CodeRecord:
    """The record as `records` hold it (later files win), and the versions this DAG's rules use."""

    def __init__(self, scripts_dir: str | Path, records: list[str | Path]) -> None:
        self.scripts_dir = Path(scripts_dir)
        self.recorded: dict[str, dict[str, str]] = {}
        for path in records:
            try:
                for script, versions in json.loads(Path(path).read_text()).items():
                    self.recorded.setdefault(script, {}).update(versions)
            except (FileNotFoundError, ValueError):
                pass
        self.used: dict[str, dict[str, str]] = {}

    def version(self, script: str) -> str:
        """The code param of a rule running `script` (a file name in the scripts folder)."""
        files = imported_modules(self.scripts_dir / script, self.scripts_dir)
        keys = (behaviour_digest(files), f"definitions {definitions_digest(script)}")
        recorded = self.recorded.get(script, {})
        version = next((recorded[key] for key in keys if key in recorded), None) or code_digest(files)
        self.used[script] = dict.fromkeys(keys, version)
        return version

    def updated(self) -> dict[str, dict[str, str]]:
        """The record with the versions used so far added, keys sorted (what the record job writes)."""
        merged = {script: dict(versions) for script, versions in self.recorded.items()}
        for script, used in self.used.items():
            merged.setdefault(script, {}).update(used)
        return {script: dict(sorted(versions.items())) for script, versions in sorted(merged.items())}
