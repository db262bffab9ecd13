"""What a rule's code does, as a digest: the entry script and the project modules it imports.

A digest follows the syntax tree, so a touch, a fresh checkout or a reformat changes nothing;
`behaviour_digest` leaves docstrings out too. Two things never change a digest:
- where a module is: imports are read as if the package had no stage folders (`_flat_parts`), so that
  moving a module into or out of one reruns and retrains nothing;
- this module: its code is read as `codeversion_as_digested.txt`, its text when the digests took their
  present form, so that a change to how digests are made leaves every recorded one valid. Nothing here
  may change what a job computes: it only names code.
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable

# The entry scripts' folder (workflow/scripts), the root of the package's imports.
SCRIPTS_DIR = Path(__file__).resolve().parents[1]
# This module, where the package is (detexp/codeversion.py), and the frozen text digests read for it.
_THIS_MODULE = Path(__file__).resolve().relative_to(SCRIPTS_DIR)
_AS_DIGESTED = "codeversion_as_digested.txt"


@lru_cache(maxsize=None)
def _parts_in(path: Path, root: Path) -> tuple[str, ...] | None:
    """A file's path parts below `root` (None outside it), symbolic links resolved: a workflow reached
    through a linked folder (a home directory on many clusters) is the same code."""
    try:
        return path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None


def _digested_text(path: Path, root: Path) -> str:
    """The text a digest reads for a file: its own, but this module's as it was (see the docstring)."""
    if path.name == _THIS_MODULE.name and _parts_in(path, root) == _THIS_MODULE.parts:
        path = path.with_name(_AS_DIGESTED)
    return path.read_text()


# Cached, as the parsed files are: a process (a DAG build, a job) sees one layout of the package.
@lru_cache(maxsize=None)
def _is_stage_folder(folder: Path) -> bool:
    return folder.is_dir() and not (folder / "__init__.py").is_file()


def _flat_parts(parts: tuple[str, ...], root: Path) -> tuple[str, ...]:
    """A module's dotted name as the package without stage folders names it. A stage folder is a
    folder inside a package with no __init__.py (`detexp/train/`): a place to find a stage's modules,
    not a level of the package, so `detexp.train.training` reads as `detexp.training`."""
    return tuple(part for i, part in enumerate(parts) if not (i and _is_stage_folder(root.joinpath(*parts[: i + 1]))))


class _FlatImports(ast.NodeTransformer):
    """Rewrites each import of a project module as the package without stage folders would write it
    (relative imports by the fewest dots), so that a digest does not change when a module moves into
    or out of a stage folder."""

    def __init__(self, package: str, root: Path) -> None:
        self.package = tuple(package.split(".")) if package else ()
        self.root = root

    def _is_project(self, name: str) -> bool:
        return (self.root / name / "__init__.py").is_file() or (self.root / f"{name}.py").is_file()

    def visit_Import(self, node: ast.Import) -> ast.AST:
        names = [
            ast.alias(".".join(_flat_parts(tuple(a.name.split(".")), self.root)), a.asname)
            if self._is_project(a.name.split(".")[0])
            else a
            for a in node.names
        ]
        return ast.copy_location(ast.Import(names=names), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level > len(self.package):
            return node  # above the package: not an import of the project (Python refuses it)
        module = tuple(node.module.split(".")) if node.module else ()
        target = self.package[: len(self.package) - node.level + 1] + module if node.level else module
        if not target or not self._is_project(target[0]):
            return node
        flat_target = _flat_parts(target, self.root)
        if node.level:
            flat_package = _flat_parts(self.package, self.root)
            common = next(
                (i for i, (a, b) in enumerate(zip(flat_package, flat_target)) if a != b), min(len(flat_package), len(flat_target))
            )
            level, name = len(flat_package) - common + 1, ".".join(flat_target[common:]) or None
        else:
            level, name = 0, ".".join(flat_target)
        return ast.copy_location(ast.ImportFrom(module=name, names=node.names, level=level), node)


def _parse_flat(text: str, filename: str, root: Path) -> ast.AST:
    """A file's syntax tree, its imports of project modules as the package without stage folders
    would write them (files outside `root` as they are)."""
    tree = ast.parse(text, filename=filename)
    parts = _parts_in(Path(filename), root)
    return tree if parts is None else _FlatImports(".".join(parts[:-1]), root).visit(tree)


def _flat_path(path: Path, root: Path) -> tuple[str, ...]:
    """Where a file would be in the package without stage folders: digests take files in that order."""
    parts = _parts_in(path, root)
    return path.parts if parts is None else _flat_parts(parts[:-1], root) + parts[-1:]


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a module (or package) under `root`, or None if it is not one of the project's."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(tree: ast.AST, package: str) -> Iterable[str]:
    """Dotted names a module's imports may refer to (function-level imports included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(parent + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def imported_modules(script: str | Path, root: str | Path) -> list[Path]:
    """A script and every module under `root` (the scripts folder) that it imports, transitively."""
    root = Path(root)
    found: set[Path] = set()
    todo = [Path(script)]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        package = ".".join(path.relative_to(root).parts[:-1])  # what a relative import starts from
        for name in _imports(path.read_text(), str(path), package):
            parts = name.split(".")
            # a package's __init__ runs before any of its modules
            for depth in range(1, len(parts) + 1):
                module = _module_file(root, ".".join(parts[:depth]))
                if module is not None:
                    todo.append(module)
    return sorted(found)


# The rules of a workflow share most modules, and a DAG build digests every rule's: each file's text is
# parsed once per process (keyed by the text itself, so an edited file is parsed again).
@lru_cache(maxsize=None)
def _imports(text: str, filename: str, package: str) -> tuple[str, ...]:
    return tuple(_imported_names(ast.parse(text, filename=filename), package))


@lru_cache(maxsize=None)
def _tree_dumps(text: str, filename: str, root: Path) -> tuple[str, str]:
    """A file's syntax tree dumped as it is, and without docstrings (imports read flat: _parse_flat)."""
    tree = _parse_flat(text, filename, root)
    return ast.dump(tree), ast.dump(_without_docstrings(tree))


def code_digest(paths: Iterable[str | Path], root: Path | None = None) -> str:
    """A digest of what Python files do, not how they are laid out.

    Hashes each file's syntax tree (no comments, no formatting, no line numbers), so that a touch,
    a fresh checkout or a reformat never reruns a job, while a real change does.
    """
    root = root or SCRIPTS_DIR
    digest = hashlib.sha256()
    for path in sorted(map(Path, paths), key=lambda p: _flat_path(p, root)):
        digest.update(path.name.encode())
        digest.update(_tree_dumps(_digested_text(path, root), str(path), root)[0].encode())
    return digest.hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """The tree with the docstring of every module, class and function removed."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def behaviour_digest(paths: Iterable[str | Path], root: Path | None = None) -> str:
    """Like code_digest, but docstrings do not count either: only what the code does."""
    root = root or SCRIPTS_DIR
    digest = hashlib.sha256()
    for path in sorted(map(Path, paths), key=lambda p: _flat_path(p, root)):
        digest.update(path.name.encode())
        digest.update(_tree_dumps(_digested_text(path, root), str(path), root)[1].encode())
    return digest.hexdigest()[:16]


def _definitions(text: str, filename: str, root: Path) -> list[str]:
    """A module's top-level statements other than imports, each as 'name sha' of its syntax tree
    without docstrings: a function or class by its name, an assignment by its targets, anything
    else (code run at import) by its own dump."""
    tree = _without_docstrings(_parse_flat(text, filename, root))
    found = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or isinstance(node, ast.Pass):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = ",".join(ast.unparse(t) for t in targets)
        else:
            name = "<statement>"
        found.append(f"{name} {hashlib.sha256(ast.dump(node).encode()).hexdigest()[:16]}")
    return found


@lru_cache(maxsize=None)
def _definitions_of(text: str, filename: str, root: Path) -> tuple[str, ...]:
    return tuple(_definitions(text, filename, root))


def definitions_digest(script: str, root: Path | None = None) -> str:
    """What an entry script (a file name in workflow/scripts) and every project module it imports
    (transitively, function-level imports included) define: the sorted set of their top-level
    definitions, each by its name and its syntax tree without docstrings. A comment, a docstring, a
    reformat, a reordering or a move of a definition to another module leaves it unchanged; imports do
    not count (they only say where a name comes from); any change of what a definition does changes it."""
    root = root or SCRIPTS_DIR
    entries: list[str] = []
    for path in imported_modules(root / script, root):
        entries.extend(_definitions_of(_digested_text(path, root), str(path), root))
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]


def script_behaviour(script: str) -> str:
    """The behaviour digest of an entry script (a file name in workflow/scripts) and its imports."""
    return behaviour_digest(imported_modules(SCRIPTS_DIR / script, SCRIPTS_DIR))
