"""The release importer on the copies users really have, and on hostile or broken records."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark
from spinebench.cli import app
from spinebench.errors import ReleaseFormatError
from spinebench.sources import import_release, survey_release
from spinebench.sources import release as release_module

from .test_release import image_bytes, sdd, sll, write_image, write_release

runner = CliRunner()


def _kinds(report: Any) -> list[tuple[int, str]]:
    return [(s.index, s.kind) for s in report.skipped]


def test_a_lone_surrogate_skips_its_record_not_the_import(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    text = json.dumps([sdd(), sdd(question="Which diagnosis \ud83d fits?")])
    write_release(release, test=text)
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 1 and _kinds(report) == [(1, "bad text")]
    assert "\\ud83d" in report.skipped[0].reason


def test_one_invalid_utf8_line_of_json_lines_is_skipped_alone(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    (release / "evaluation").mkdir(parents=True, exist_ok=True)
    good = json.dumps(sdd()).encode()
    other = json.dumps(sll()).encode()
    (release / "evaluation/test.jsonl").write_bytes(good + b"\n" + b'{"question": "\xff"}\n' + other + b"\n")
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 2 and _kinds(report) == [(1, "bad encoding")]
    assert "line 2" in report.skipped[0].reason


def test_a_fatal_error_leaves_no_partial_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_release(release, test=[sdd()])

    def broken_close(self: object) -> None:
        raise KeyboardInterrupt  # or a full disk: anything that stops the import before its end

    monkeypatch.setattr(release_module.BenchmarkWriter, "close", broken_close)
    with pytest.raises(KeyboardInterrupt):
        import_release(release, tmp_path / "bench")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def test_a_missing_dotdot_image_inside_the_release_is_not_found_not_outside(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_release(release, test=[sdd(), sdd(image="../images/x.png")])
    report = import_release(release, tmp_path / "bench")
    [skip] = report.skipped
    assert skip.kind == "image not found" and "images/x.png" in skip.reason
    assert "outside" not in skip.reason


def test_bare_image_names_resolve_by_unique_file_name_under_the_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    data = write_image(release / "all/images/11.jpg", 3, fmt="JPEG")
    write_release(release, train=[sdd(image="11.jpg"), sdd(image="all/11.jpg")])
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 1 and report.duplicates == 1 and report.skipped == []
    [question] = Benchmark.open(tmp_path / "bench").iter_questions()
    assert hashlib.sha256(data).hexdigest() in question.image


def test_an_ambiguous_file_name_is_an_error_for_that_record(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_image(release / "part1/11.png", 2)
    write_image(release / "part2/11.png", 3)
    write_release(release, test=[sdd(), sdd(image="11.png")])
    report = import_release(release, tmp_path / "bench")
    [skip] = report.skipped
    assert skip.kind == "ambiguous image" and "part1/11.png" in skip.reason and "part2/11.png" in skip.reason


def test_images_inside_a_zip_archive_beside_the_json(tmp_path: Path) -> None:
    release = tmp_path / "release"
    (release / "evaluation").mkdir(parents=True)
    with zipfile.ZipFile(release / "evaluation/images.zip", "w") as archive:
        archive.writestr("images/a.png", image_bytes(7))
        archive.writestr("__MACOSX/images/._a.png", b"resource fork")
    write_release(release, test=[sdd()])
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 1 and report.skipped == []
    survey = survey_release(release)
    assert survey.images == {"in a zip archive": 1}


def test_a_hugging_face_cache_folder_with_links_into_blobs(tmp_path: Path) -> None:
    cache = tmp_path / "datasets--org--SpineBench"
    blobs = cache / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "b1").write_bytes(image_bytes(5))
    (blobs / "b2").write_text(json.dumps([sdd(image="images/a.png")]))
    snapshot = cache / "snapshots" / "abc123"
    (snapshot / "evaluation/images").mkdir(parents=True)
    (snapshot / "evaluation/images/a.png").symlink_to(blobs / "b1")
    (snapshot / "evaluation/test.json").symlink_to(blobs / "b2")
    (cache / "refs").mkdir()
    (cache / "refs/main").write_text("abc123")
    for given in (cache, snapshot):
        out = tmp_path / f"bench-{given.name}"
        report = import_release(given, out)
        assert report.questions == 1 and report.skipped == [], report.skipped


def test_an_overlong_question_is_skipped(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_release(release, test=[sdd(), sdd(question="Which? " + "x" * 1_000_000)])
    report = import_release(release, tmp_path / "bench")
    assert _kinds(report) == [(1, "question too long")]


def test_out_inside_the_release_folder_is_refused(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_release(release, test=[sdd()])
    for out in (release, release / "bench"):
        with pytest.raises(ReleaseFormatError, match="inside the release folder"):
            import_release(release, out)
    assert sorted(p.name for p in release.iterdir()) == ["evaluation"]


def test_dry_run_says_what_it_found_and_writes_nothing(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation/images/a.png", 1)
    write_image(release / "all/pics/b.png", 2)
    text_options = "Which diagnosis?\nA. Healthy\nB. Osteophytes\nC. Cervical kyphosis"
    in_text = {"image": "b.png", "question": text_options, "task": "spine_disease_classification"}
    records = [sdd(), sll(), {**in_text, "answers": "A"}, sdd(image="gone.png")]
    write_release(release, test=records[:2], train=records[2:])
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = runner.invoke(app, ["import-release", str(release), "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    output = result.output
    assert "evaluation/test.json" in output and "all/train.json" in output
    assert "SDD" in output and "SLL" in output
    assert "'options' field (list)" in output and "lettered in the question text" in output
    assert "by its path" in output and "by its file name" in output
    assert "image not found" in output and "gone.png" in output
