"""The package's layers point one way: a stage folder's modules import the shared modules at the top of
`detexp/`, their own folder's and earlier stages' (docs/development.md, "Layout")."""

from __future__ import annotations

from pathlib import Path

from detexp.codeversion import SCRIPTS_DIR, _imports, _module_file

PACKAGE = SCRIPTS_DIR / "detexp"
# The stage folders in the order of the DAG; the study (what runs) comes after the data it reads.
STAGES = ("data", "study", "train", "test", "report")
# The one top-level module that is not shared: the pack job runs train, evaluate and infer in one
# allocation, and its child processes start it by this name (`python -m detexp.packing`).
PACK_JOB = PACKAGE / "packing.py"
# A known inversion, kept until training.py changes anyway: where a config sets training.extra,
# config.managed_train_keys derives the rfdetr arguments the workflow sets from train_kwargs itself (one
# place for that fact); moving train_kwargs out of training.py would retrain every finished study (its
# code is in the training digest). Without training.extra the DAG build does not import training.py.
KNOWN_INVERSIONS = {("study/config.py", "train/training.py")}


def _layer(path: Path) -> int:
    """0 for a shared module at the top of the package, else 1 + its stage's place in STAGES."""
    parts = path.relative_to(PACKAGE).parts
    return 0 if len(parts) == 1 else 1 + STAGES.index(parts[0])


def _imported_files(path: Path) -> set[Path]:
    """The package's modules a module imports, function-level imports included."""
    package = ".".join(path.relative_to(SCRIPTS_DIR).parts[:-1])
    found = set()
    for name in _imports(path.read_text(), str(path), package):
        module = _module_file(SCRIPTS_DIR, name)
        if module is not None and PACKAGE in module.parents and module != path:
            found.add(module)
    return found


def test_the_stage_folders_are_the_stages_in_their_order():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(STAGES), "a new folder in detexp/ goes into STAGES, at its place in the DAG"
    assert not any((PACKAGE / stage / "__init__.py").exists() for stage in STAGES)  # places, not package levels
    # Code digests read a module as if it were at the top (detexp.codeversion): two modules of one name
    # in two stages would read alike.
    names = [p.stem for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    names += [p.parent.name for p in PACKAGE.rglob("*/__init__.py")]  # packages (data/formats) too
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_imports_point_from_later_stages_to_earlier_ones_only():
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for imported in _imported_files(path):
            pair = (path.relative_to(PACKAGE).as_posix(), imported.relative_to(PACKAGE).as_posix())
            if _layer(imported) > _layer(path) and path != PACK_JOB and pair not in KNOWN_INVERSIONS:
                backwards.append(f"{pair[0]} imports {pair[1]}")
    assert not backwards, "imports against the stages' order (STAGES): " + "; ".join(backwards)


def test_the_known_inversions_are_still_there():
    """An inversion mended leaves the list: it may not come back unseen."""
    for module, imported in KNOWN_INVERSIONS:
        assert PACKAGE / imported in _imported_files(PACKAGE / module)
