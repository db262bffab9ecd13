"""What a rule's code does, as a digest: the entry script and the project modules it imports.

A digest follows the syntax tree, so a touch, a fresh checkout or a reformat changes nothing;
`behaviour_digest` leaves docstrings out too."""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable

# The entry scripts' folder (workflow/scripts), the root of the package's imports.
SCRIPTS_DIR = Path(__file__).resolve().parents[1]


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
def _tree_dumps(text: str, filename: str) -> tuple[str, str]:
    """A file's syntax tree dumped as it is, and without docstrings."""
    tree = ast.parse(text, filename=filename)
    return ast.dump(tree), ast.dump(_without_docstrings(tree))


def code_digest(paths: Iterable[str | Path]) -> str:
    """A digest of what Python files do, not how they are laid out.

    Hashes each file's syntax tree (no comments, no formatting, no line numbers), so that a touch,
    a fresh checkout or a reformat never reruns a job, while a real change does.
    """
    digest = hashlib.sha256()
    for path in sorted(map(Path, paths)):
        digest.update(path.name.encode())
        digest.update(_tree_dumps(path.read_text(), str(path))[0].encode())
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


def behaviour_digest(paths: Iterable[str | Path]) -> str:
    """Like code_digest, but docstrings do not count either: only what the code does."""
    digest = hashlib.sha256()
    for path in sorted(map(Path, paths)):
        digest.update(path.name.encode())
        digest.update(_tree_dumps(path.read_text(), str(path))[1].encode())
    return digest.hexdigest()[:16]


def _definitions(text: str, filename: str) -> list[str]:
    """A module's top-level statements other than imports, each as 'name sha' of its syntax tree
    without docstrings: a function or class by its name, an assignment by its targets, anything
    else (code run at import) by its own dump."""
    tree = _without_docstrings(ast.parse(text, filename=filename))
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
def _definitions_of(text: str, filename: str) -> tuple[str, ...]:
    return tuple(_definitions(text, filename))


def definitions_digest(script: str) -> str:
    """What an entry script (a file name in workflow/scripts) and every project module it imports
    (transitively, function-level imports included) define: the sorted set of their top-level
    definitions, each by its name and its syntax tree without docstrings. A comment, a docstring, a
    reformat, a reordering or a move of a definition to another module leaves it unchanged; imports do
    not count (they only say where a name comes from); any change of what a definition does changes it."""
    entries: list[str] = []
    for path in imported_modules(SCRIPTS_DIR / script, SCRIPTS_DIR):
        entries.extend(_definitions_of(path.read_text(), str(path)))
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]


def script_behaviour(script: str) -> str:
    """The behaviour digest of an entry script (a file name in workflow/scripts) and its imports."""
    return behaviour_digest(imported_modules(SCRIPTS_DIR / script, SCRIPTS_DIR))
