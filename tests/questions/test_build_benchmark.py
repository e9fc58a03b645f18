from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spinebench.benchmark._directory as directory_module
from spinebench.benchmark import Benchmark, Question
from spinebench.catalog import CatalogError, SourceFolders, build_catalog, read_catalog
from spinebench.embeddings import EncoderError, make_encoder
from spinebench.errors import BenchmarkError
from spinebench.metrics import score_run
from spinebench.questions import (
    CARD_FILE,
    LIBRARY_FILE,
    SUBSET_NAME,
    AggregationError,
    BuildError,
    BuildSettings,
    build_benchmark,
    library_from_bytes,
)
from spinebench.taxonomy import HEALTHY

KEY = b"0123456789abcdef-test-key"
CERVICAL = {
    "Straight cervical vertebrae",
    "Cervical kyphosis",
    "Cervical lordosis",
    "Sigmoid cervical vertebrae",
}
STENOSIS = {"Foraminal stenosis", "Subarticular stenosis", "Spinal canal stenosis"}


@pytest.fixture(scope="module")
def catalog(synthetic_sources: SourceFolders, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    build_catalog(synthetic_sources.readers(), root / "catalog", key=KEY, workers=1)
    return root / "catalog"


SETTINGS = BuildSettings(encoder="pixels", sub_sdd=30, sub_sll=12, synthetic=True)


@pytest.fixture(scope="module")
def bench(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    out = tmp_path_factory.mktemp("bench") / "bench"
    build_benchmark(catalog, out, SETTINGS)
    return Benchmark.open(out, verify="full")


def _sdd(bench: Benchmark) -> list[Question]:
    return [q for q in bench.iter_questions() if q.task == "SDD"]


def test_diagnosis_distractors_are_the_closest_other_diseases_with_healthy(bench: Benchmark) -> None:
    questions = _sdd(bench)
    assert len(questions) == bench.manifest["build"]["catalog"]["used"]
    for question in questions:
        assert len(question.options) == 5 and HEALTHY in question.options
        assert question.options.count(question.disease) == 1
        assert question.answer_texts == (question.disease,)
        distractors = set(question.options) - {question.disease, HEALTHY}
        # Synthetic cervical phantoms look nothing like MRI slices; MRI stenoses look like each other.
        if question.disease in CERVICAL:
            assert not distractors & STENOSIS, question
        if question.disease in STENOSIS:
            assert STENOSIS - {question.disease} <= distractors, question
    hardness = bench.manifest["build"]["hardness"]
    assert hardness["chosen"] > hardness["random"] and hardness["difference"] > 0.05


def test_no_distractor_is_a_disease_the_image_has(bench: Benchmark, catalog: Path) -> None:
    diseases = {entry.image_id: set(entry.diseases) for entry in read_catalog(catalog)}
    multi = 0
    for question in _sdd(bench):
        image_id = Path(question.image).stem
        distractors = set(question.options) - {question.disease, HEALTHY}
        assert not distractors & diseases[image_id]
        multi += len(diseases[image_id]) > 1
    assert multi, "the synthetic catalogue should hold multi-disease images"


def test_localization_answers_equal_the_catalogue_levels(bench: Benchmark, catalog: Path) -> None:
    levels = {
        (entry.image_id, finding.disease): set(finding.levels)
        for entry in read_catalog(catalog)
        for finding in entry.findings
        if finding.levels
    }
    asked = [q for q in bench.iter_questions() if q.task == "SLL"]
    assert len(asked) == len(levels)
    for question in asked:
        assert set(question.answer_texts) == levels[Path(question.image).stem, question.disease]
        assert question.disease.lower() in question.question


def test_same_inputs_and_seed_give_identical_bytes_and_a_new_seed_reshuffles(
    bench: Benchmark, catalog: Path, tmp_path: Path
) -> None:
    build_benchmark(catalog, tmp_path / "again", SETTINGS)
    for name in ("benchmark.parquet", "manifest.json", LIBRARY_FILE, CARD_FILE):
        assert (tmp_path / "again" / name).read_bytes() == (bench.path / name).read_bytes(), name
    build_benchmark(catalog, tmp_path / "seed1", BuildSettings(encoder="pixels", seed=1, synthetic=True))
    first = {q.id: q for q in bench.iter_questions()}
    other = {q.id: q for q in Benchmark.open(tmp_path / "seed1").iter_questions()}
    assert first.keys() == other.keys()
    assert sum(first[i].options != other[i].options for i in first) > len(first) // 2
    assert all(set(first[i].options) == set(other[i].options) for i in first)


def test_sub_is_flagged_with_the_requested_sizes_and_balanced(bench: Benchmark) -> None:
    sub = list(bench.iter_questions(SUBSET_NAME))
    assert sum(q.task == "SDD" for q in sub) == 30 and sum(q.task == "SLL" for q in sub) == 12
    per_disease: dict[str, int] = {}
    for question in sub:
        if question.task == "SDD":
            per_disease[question.disease] = per_disease.get(question.disease, 0) + 1
    available = {q.disease for q in _sdd(bench)}
    assert set(per_disease) == available  # every class is represented
    assert max(per_disease.values()) - min(per_disease.values()) <= 2
    assert bench.manifest["build"]["subsets"][SUBSET_NAME]["SDD"] == {"requested": 30, "selected": 30}


def test_library_and_card_are_in_the_manifest(bench: Benchmark, catalog: Path) -> None:
    assert bench.has_file(LIBRARY_FILE) and bench.has_file(CARD_FILE)
    assert "files" not in bench.manifest  # the file list is held apart (benchmark/_files.py)
    library = library_from_bytes((bench.path / LIBRARY_FILE).read_bytes())
    assert library.vectors.shape[1] == bench.manifest["build"]["encoder"]["dim"] == 1024
    # The quantised vectors the build ranked on (int16 / 2048): unit length to within quantisation.
    np.testing.assert_allclose(np.linalg.norm(library.vectors, axis=1), 1.0, atol=2e-3)
    np.testing.assert_array_equal(library.vectors * 2048, np.rint(library.vectors * 2048))
    assert HEALTHY in library.classes and "Cervical kyphosis" in library.classes
    card = (bench.path / CARD_FILE).read_text()
    assert "SYNTHETIC DATA" in card and "Distractor hardness" in card and "SpineBench-Sub" in card
    build = bench.manifest["build"]
    assert build["seed"] == 0 and build["aggregation"] == "max" and build["library"]["size"] == 200
    assert len(build["catalog"]["sha256"]) == 64
    assert bench.manifest["counts"]["images"] == build["catalog"]["used"]


def test_a_smaller_library_is_sampled_and_recorded(catalog: Path, tmp_path: Path) -> None:
    settings = BuildSettings(encoder="pixels", library_size=2, aggregation="max", sub_sdd=5, sub_sll=5)
    report = build_benchmark(catalog, tmp_path / "b", settings)
    assert max(report.library.values()) == 2
    library = library_from_bytes((tmp_path / "b" / LIBRARY_FILE).read_bytes())
    assert len(library.row_class) == sum(report.library.values())
    assert "Whether the source images are real" in (tmp_path / "b" / CARD_FILE).read_text()


class _BatchRecorder:
    """The pixel encoder, noting how many images each call hands it."""

    def __init__(self) -> None:
        self._pixels = make_encoder("pixels")
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return "pixels"

    @property
    def dim(self) -> int:
        return self._pixels.dim

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.calls.append(len(images))
        return self._pixels.encode(images)


def test_the_batch_size_setting_reaches_the_encoder(catalog: Path, tmp_path: Path) -> None:
    # `--batch-size 128` on a GPU must give the encoder 128 images at a time, not the loader's default 32.
    # Slices kept for severity grading alone are not embedded: the diagnosis tasks never ask about them.
    images = sum(not entry.graded_only for entry in read_catalog(catalog))
    assert images > 40
    encoder = _BatchRecorder()
    settings = BuildSettings(encoder="pixels", batch_size=40, cache_dir=tmp_path / "cache")
    build_benchmark(catalog, tmp_path / "b", settings, encoder=encoder)
    assert max(encoder.calls) == 40 and sum(encoder.calls) == images


def test_an_unreadable_catalogue_image_is_skipped_and_reported(catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(catalog, copy)
    victim = read_catalog(copy)[0]
    (copy / victim.image).write_bytes(b"not a png")
    report = build_benchmark(copy, tmp_path / "b", BuildSettings(encoder="pixels"))
    assert any(victim.image in line for line in report.skipped)
    written = json.loads((tmp_path / "b" / "build_report.json").read_text())
    assert written["skipped"] == report.skipped
    assert f"sdd-{victim.image_id[:16]}" not in {
        q.id for q in Benchmark.open(tmp_path / "b").iter_questions()
    }


def test_a_benchmark_folder_that_cannot_be_written_stops_the_build(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while copying images is the output's fault, not a catalogue image to skip as unreadable."""
    real_write = directory_module._write_atomic
    image_writes: list[Path] = []

    def fill_the_disk_at_the_third_image(target: Path, data: bytes) -> None:
        if target.parent.parent.name == "images":
            image_writes.append(target)
            if len(image_writes) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_write(target, data)

    monkeypatch.setattr(directory_module, "_write_atomic", fill_the_disk_at_the_third_image)
    with pytest.raises(BuildError, match=r"cannot write catalogue image .*No space left on device"):
        build_benchmark(catalog, tmp_path / "b", BuildSettings(encoder="pixels"))
    assert not (tmp_path / "b" / "manifest.json").exists()


def test_bad_inputs_are_clear_errors(catalog: Path, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing"):
        build_benchmark(tmp_path / "nowhere", tmp_path / "b1", BuildSettings(encoder="pixels"))
    build_catalog({}, tmp_path / "empty", key=KEY, workers=1)
    with pytest.raises(BuildError, match="holds no image"):
        build_benchmark(tmp_path / "empty", tmp_path / "b2", BuildSettings(encoder="pixels"))
    with pytest.raises(EncoderError, match="not understood"):
        build_benchmark(catalog, tmp_path / "b3", BuildSettings(encoder="resnet-9000"))
    with pytest.raises(AggregationError):
        build_benchmark(catalog, tmp_path / "b4", BuildSettings(encoder="pixels", aggregation="median"))
    build_benchmark(catalog, tmp_path / "b5", BuildSettings(encoder="pixels"))
    with pytest.raises(BenchmarkError, match="already holds a benchmark"):
        build_benchmark(catalog, tmp_path / "b5", BuildSettings(encoder="pixels"))
    assert not (tmp_path / "b3").exists()


def test_every_question_carries_its_catalogue_patient_and_scores_cluster_on_it(
    bench: Benchmark, catalog: Path
) -> None:
    patient_of = {e.image_id: e.patient for e in read_catalog(catalog)}
    questions = list(bench.iter_questions())
    for question in questions:
        image_id = Path(question.image).stem
        assert question.patient is not None and question.patient == patient_of[image_id], question.id
    images_per_patient: dict[str, set[str]] = {}
    for question in questions:
        images_per_patient.setdefault(str(question.patient), set()).add(question.image)
    assert max(len(images) for images in images_per_patient.values()) > 1  # a study gives several images
    scores = score_run(questions, {})
    assert scores["intervals"]["cluster"] == "patient"
    assert scores["intervals"]["clusters"] == len(images_per_patient)
