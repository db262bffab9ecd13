"""Code digests: what a rule's code does, not how it is written down."""

from __future__ import annotations

import json

from detexp import codeversion
from detexp.codeversion import behaviour_digest, code_digest, imported_modules


def test_code_digest_ignores_layout_but_not_behaviour(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f(x):\n    return x + 1\n")
    before = code_digest([f])
    f.write_text("# a comment\n\ndef f( x ):\n    return (x + 1)\n")
    assert code_digest([f]) == before
    f.write_text("def f(x):\n    return x + 2\n")
    assert code_digest([f]) != before


def test_the_behaviour_digest_ignores_docstrings_and_comments_too(tmp_path):
    f = tmp_path / "m.py"
    f.write_text(
        '"""A module."""\n\n\nclass C:\n    """A class."""\n\n    def f(self, x):\n        """Add one."""\n        return x + 1\n'
    )
    before, with_docstrings = behaviour_digest([f]), code_digest([f])
    f.write_text(
        '"""A module, described again."""\n\n\nclass C:\n    # why\n    def f(self, x):\n        """Add 1."""\n        return x + 1\n'
    )
    assert behaviour_digest([f]) == before and code_digest([f]) != with_docstrings
    f.write_text('"""A module."""\n\n\nclass C:\n    def f(self, x):\n        """Add one."""\n        return x + 2\n')
    assert behaviour_digest([f]) != before
    # a body that is only a docstring becomes `pass`: both do nothing
    f.write_text("def g():\n    'value'\n")
    only = behaviour_digest([f])
    f.write_text("def g():\n    pass\n")
    assert behaviour_digest([f]) == only  # docstring-only body reads as pass: both do nothing


def test_imports_are_followed_transitively_and_only_into_the_project(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/a.py").write_text("from . import b\nimport json\n")
    (tmp_path / "pkg/b.py").write_text("def f():\n    from .c import g\n")
    (tmp_path / "pkg/c.py").write_text("")
    (tmp_path / "pkg/unused.py").write_text("")
    (tmp_path / "entry.py").write_text("from pkg.a import x\n")
    found = {p.relative_to(tmp_path).as_posix() for p in imported_modules(tmp_path / "entry.py", tmp_path)}
    assert found == {"entry.py", "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py"}


def test_the_code_record_keeps_a_version_by_behaviour_or_by_definitions(tmp_path):
    """A rule's code param: the recorded one where the behaviour or the definitions digest is in the
    record (later record files win), else the syntax-tree digest; the record gains what was used."""
    from detexp.code_record import CodeRecord
    from detexp.codeversion import SCRIPTS_DIR, behaviour_digest, code_digest, definitions_digest, imported_modules

    files = imported_modules(SCRIPTS_DIR / "evaluate.py", SCRIPTS_DIR)
    behaviour, definitions = behaviour_digest(files), f"definitions {definitions_digest('evaluate.py')}"
    assert CodeRecord(SCRIPTS_DIR, [tmp_path / "none.json"]).version("evaluate.py") == code_digest(files)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"evaluate.py": {behaviour: "by-behaviour"}, "other.py": {"x": "y"}}))
    record = CodeRecord(SCRIPTS_DIR, [old, new])
    assert record.version("evaluate.py") == "by-behaviour"
    assert record.updated() == {"evaluate.py": {behaviour: "by-behaviour", definitions: "by-behaviour"}, "other.py": {"x": "y"}}
    new.write_text(json.dumps({"evaluate.py": {definitions: "by-definitions"}}))
    old.write_text(json.dumps({"evaluate.py": {"an older behaviour": "v0"}}))
    assert CodeRecord(SCRIPTS_DIR, [old, new]).version("evaluate.py") == "by-definitions"
    # the job's own record (the later file) wins over the one earlier versions wrote
    old.write_text(json.dumps({"evaluate.py": {behaviour: "v-old"}}))
    new.write_text(json.dumps({"evaluate.py": {behaviour: "v-new"}}))
    record = CodeRecord(SCRIPTS_DIR, [old, new])
    assert record.version("evaluate.py") == "v-new" and record.updated()["evaluate.py"][behaviour] == "v-new"
    new.write_text("{torn")  # a record cut short reads as none
    assert CodeRecord(SCRIPTS_DIR, [new]).version("evaluate.py") == code_digest(files)


def _package(root, modules):
    for rel, text in modules.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _digests(root):
    from detexp.codeversion import definitions_digest

    files = imported_modules(root / "entry.py", root)
    return code_digest(files, root), behaviour_digest(files, root), definitions_digest("entry.py", root)


def test_a_move_into_a_stage_folder_changes_no_digest(tmp_path):
    """A stage folder (a folder in a package without __init__.py) is a place, not a package level: its
    modules' imports are read as the package without it would write them, relative ones included."""
    flat, staged = tmp_path / "flat", tmp_path / "staged"
    init = {"pkg/__init__.py": '"""A package."""\n', "pkg/sub/__init__.py": ""}
    _package(
        flat,
        init
        | {
            "entry.py": "from pkg.a import f\nimport pkg.b as b\n\nf(b.g)\n",
            "pkg/a.py": "def f(x):\n    from .b import g\n    from .sub import s\n    return g(x) + s\n",
            "pkg/b.py": "from . import sub\n\n\ndef g(x):\n    from .sub.c import h\n    return h(x)\n",
            "pkg/sub/c.py": "def h(x):\n    from ..a import f\n    return f\n",
        },
    )
    _package(
        staged,
        init
        | {
            "entry.py": "from pkg.one.a import f\nimport pkg.two.b as b\n\nf(b.g)\n",
            "pkg/one/a.py": "def f(x):\n    from ..two.b import g\n    from ..sub import s\n    return g(x) + s\n",
            "pkg/two/b.py": "from .. import sub\n\n\ndef g(x):\n    from ..sub.c import h\n    return h(x)\n",
            "pkg/sub/c.py": "def h(x):\n    from ..one.a import f\n    return f\n",
        },
    )
    assert len(imported_modules(staged / "entry.py", staged)) == len(imported_modules(flat / "entry.py", flat)) == 6
    assert _digests(staged) == _digests(flat)
    # what the code does still counts
    (staged / "pkg/one/a.py").write_text("def f(x):\n    from ..two.b import g\n    from ..sub import s\n    return g(x) - s\n")
    assert all(a != b for a, b in zip(_digests(staged), _digests(flat)))
    # a package (with __init__.py) is a level of the package: a move into one is a change
    (staged / "pkg/one/a.py").write_text("def f(x):\n    from ..two.b import g\n    from ..sub import s\n    return g(x) + s\n")
    (staged / "pkg/two/__init__.py").write_text("")
    for cached in (codeversion._is_stage_folder, codeversion._tree_dumps, codeversion._definitions_of):
        cached.cache_clear()  # a process sees one layout: this test changed it
    assert _digests(staged)[2] != _digests(flat)[2]


def test_the_digest_module_is_read_as_it_was_when_digests_took_their_form(tmp_path):
    """codeversion.py only names code: the digests read its frozen text, so an edit to how digests are
    made leaves every recorded one (and every finished training) valid."""
    import shutil

    from detexp.codeversion import SCRIPTS_DIR, definitions_digest, script_behaviour

    copy = tmp_path / "scripts"
    shutil.copytree(SCRIPTS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    files = imported_modules(copy / "evaluate.py", copy)
    assert copy / "detexp/codeversion.py" in files  # evaluate imports it: it would count
    assert behaviour_digest(files, copy) == script_behaviour("evaluate.py")
    assert definitions_digest("train.py", copy) == definitions_digest("train.py")
    current = copy / "detexp/codeversion.py"
    current.write_text(current.read_text() + "\n\ndef a_new_way_to_digest():\n    return 2\n")
    assert behaviour_digest(files, copy) == script_behaviour("evaluate.py")
    assert definitions_digest("train.py", copy) == definitions_digest("train.py")
    frozen = copy / "detexp/codeversion_as_digested.txt"
    frozen.write_text(frozen.read_text() + "\n\ndef a_new_way_to_digest():\n    return 2\n")
    assert behaviour_digest(files, copy) != script_behaviour("evaluate.py")
    assert definitions_digest("train.py", copy) != definitions_digest("train.py")


def test_a_workflow_reached_through_a_linked_folder_digests_the_same(tmp_path):
    """A home directory is a symbolic link on many clusters: the digests of code read through one are
    those of the code itself (the stage folders read flat, codeversion.py read as its frozen text)."""
    from detexp.code_record import CodeRecord
    from detexp.codeversion import SCRIPTS_DIR, definitions_digest, script_behaviour

    link = tmp_path / "linked"
    link.symlink_to(SCRIPTS_DIR)
    files = imported_modules(link / "train.py", link)
    real = imported_modules(SCRIPTS_DIR / "train.py", SCRIPTS_DIR)
    assert behaviour_digest(files, link) == behaviour_digest(files) == script_behaviour("train.py")
    assert code_digest(files) == code_digest(real)
    assert definitions_digest("train.py", link) == definitions_digest("train.py")
    assert CodeRecord(link, []).version("evaluate.py") == CodeRecord(SCRIPTS_DIR, []).version("evaluate.py")


def test_the_digest_module_imports_no_project_module():
    """Its frozen text stands for it in every digest, so what it imports must not change the files a
    digest covers either."""
    from detexp.codeversion import SCRIPTS_DIR

    module = SCRIPTS_DIR / "detexp/codeversion.py"
    assert imported_modules(module, SCRIPTS_DIR) == [module]
