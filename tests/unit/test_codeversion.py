"""Code digests: what a rule's code does, not how it is written down."""

from __future__ import annotations

import json

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
