"""The manifest's file list: content-addressed images found by bisection, anything else by name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spinebench.benchmark._files import FileList
from spinebench.errors import BenchmarkError


def _image(seed: int, extension: str = ".png") -> tuple[str, dict[str, object]]:
    digest = hashlib.sha256(b"image %d" % seed).hexdigest()
    return f"images/{digest[:2]}/{digest}{extension}", {"sha256": digest, "bytes": 10 + seed}


def test_every_listed_file_is_found_with_its_digest_and_nothing_else_is() -> None:
    entries = dict(_image(n) for n in range(300))
    entries.update([_image(300, ".jpg"), _image(301, ".dcm.png")])
    other_digest = hashlib.sha256(b"table").hexdigest()
    entries["benchmark.parquet"] = {"sha256": other_digest, "bytes": 5}
    renamed = hashlib.sha256(b"renamed").hexdigest()
    entries["images/zz/not-a-digest.png"] = {"sha256": renamed, "bytes": 5}
    files = FileList(entries, Path("manifest.json"), "images")
    assert len(files) == len(entries) and files.images == 303
    for name, entry in entries.items():
        assert name in files
        assert files.sha256(name) == bytes.fromhex(str(entry["sha256"]))
    assert sorted(files.names()) == sorted(entries)
    name, _ = _image(5)
    missing, _ = _image(999)
    for absent in (
        missing,
        name[:-4] + ".jpg",
        name.upper(),
        name.replace("images/", "other/"),
        "x",
        name + "/",
    ):
        assert absent not in files and files.sha256(absent) is None


def test_an_image_whose_name_disagrees_with_its_digest_is_kept_by_name() -> None:
    name, entry = _image(1)
    other = hashlib.sha256(b"other").hexdigest()
    files = FileList({name: {**entry, "sha256": other}}, Path("manifest.json"), "images")
    assert files.sha256(name) == bytes.fromhex(other)  # the manifest's digest, which reading then checks


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"bytes": 10}, "is not a sha256 and a size"),
        ("not an object", "is not a sha256 and a size"),
        ({"sha256": "ab" * 31, "bytes": 10}, "is not 64 lower-case hex digits"),
        ({"sha256": "AB" * 32, "bytes": 10}, "is not 64 lower-case hex digits"),
        ({"sha256": "ab" * 32, "bytes": "10"}, "is not a sha256 and a size"),
        ({"sha256": "ab" * 32, "bytes": True}, "is not a sha256 and a size"),
    ],
)
def test_a_malformed_entry_is_named(entry: object, complaint: str) -> None:
    with pytest.raises(
        BenchmarkError, match=rf"manifest\.json: the (entry|sha256) of 'images/x\.png' {complaint}"
    ):
        FileList({"images/x.png": entry}, Path("manifest.json"), "images")


@pytest.mark.parametrize(
    "name", ["../secret", "images/../../x.png", "/etc/passwd", "a\\b", "C:/x", "", "extra\x00.txt", "a\nb"]
)
def test_a_name_outside_the_benchmark_folder_is_refused(name: str) -> None:
    entry = {"sha256": "ab" * 32, "bytes": 1}
    with pytest.raises(BenchmarkError, match="would lie outside the benchmark folder"):
        FileList({name: entry}, Path("manifest.json"), "images")
