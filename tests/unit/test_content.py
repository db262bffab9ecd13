"""content: file digests cached by inode, size and time; fingerprints of a project's files by stat."""

from __future__ import annotations

import json
import os
from pathlib import Path

from detexp.content import ContentHashes, file_sha256, stat_fingerprint, tree_fingerprint


def test_a_digest_is_computed_once_per_file_state_and_shared_by_hard_links(tmp_path):
    image = tmp_path / "project/a.jpg"
    image.parent.mkdir()
    image.write_bytes(b"pixels")
    link = tmp_path / "run/a.jpg"
    link.parent.mkdir()
    os.link(image, link)
    cache = tmp_path / "results/.cache/content_sha256.json"
    hashes = ContentHashes(cache)
    assert hashes.many([image, link]) == [file_sha256(image)] * 2
    assert len(json.loads(cache.read_text())) == 1  # one inode, one entry
    # a second process reads the cache: a file it would hash differently proves it is not read again
    entry = next(iter(json.loads(cache.read_text())))
    cache.write_text(json.dumps({entry: "from the cache"}))
    assert ContentHashes(cache).sha256(link) == "from the cache"
    # the file rewritten in place (same inode): its time changes, so its digest is computed anew
    image.write_bytes(b"new pixels")
    assert ContentHashes(cache).sha256(link) == file_sha256(image) != "from the cache"
    cache.write_text('{"torn')  # a torn cache is only a cache: recomputed, never trusted
    assert ContentHashes(cache).sha256(image) == file_sha256(image)


def test_a_project_fingerprint_follows_its_images_and_labels_not_the_workflow_files_beside_them(tmp_path):
    project = tmp_path
    (project / "images").mkdir()
    image = project / "images/a.jpg"
    image.write_bytes(b"one")
    (project / "labels.json").write_text("{}")
    results = project / "results"
    results.mkdir()
    before = tree_fingerprint(project, skip=(results,))
    (results / "comparison.json").write_text("{}")  # the workflow's own output inside the project folder
    (project / "notes.pth").write_bytes(b"weights")  # not an image or an annotation file
    assert tree_fingerprint(project, skip=(results,)) == before
    stat = image.stat()
    image.write_bytes(b"two")
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))  # restored with an older time
    assert tree_fingerprint(project, skip=(results,)) != before
    assert stat_fingerprint([image]) != stat_fingerprint([Path(str(image) + ".missing")])
