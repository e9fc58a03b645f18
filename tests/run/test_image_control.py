"""Image controls: blank and noise images, the shuffled derangement, and control runs through the runner."""

from __future__ import annotations

import io
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spinebench.baselines import BaselineAnswer
from spinebench.benchmark import Benchmark, BenchmarkWriter, Question, open_sample
from spinebench.errors import RunDirectoryError
from spinebench.models import ChatRequest, Completion
from spinebench.run import (
    BLANK_LEVEL,
    ControlledImages,
    EvalSettings,
    ImageControlError,
    RunDirectory,
    blank_image,
    evaluate,
    noise_image,
    shuffle_donors,
)
from spinebench.taxonomy import DISEASE_NAMES, HEALTHY

DISEASES = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")


def _jpeg(size: tuple[int, int], colour: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_blank_is_uniform_mid_grey_of_the_same_size() -> None:
    blank = blank_image(_jpeg((37, 21)))
    pixels = _pixels(blank)
    assert blank.startswith(b"\x89PNG")
    assert pixels.shape == (21, 37, 3)
    assert (pixels == BLANK_LEVEL).all()


def test_noise_is_seeded_uniform_and_of_the_same_size() -> None:
    source = _jpeg((64, 48))
    first = noise_image(source, seed=1, key="img-a")
    assert first == noise_image(source, seed=1, key="img-a")  # same bytes on a rerun
    assert first != noise_image(source, seed=2, key="img-a")
    assert first != noise_image(source, seed=1, key="img-b")
    pixels = _pixels(first)
    assert pixels.shape == (48, 64, 3)
    assert abs(float(pixels.mean()) - 127.5) < 6 and pixels.min() < 5 and pixels.max() > 250


def test_a_control_of_an_unreadable_image_names_it() -> None:
    with pytest.raises(ImageControlError, match="image abc of question q1"):
        blank_image(b"not an image", what="image abc of question q1")


def _question(number: int, image: str, disease: str, *, task: str = "SDD", source: str = "vindr") -> Question:
    return Question(
        id=f"q{number}-{task}",
        task=task,  # type: ignore[arg-type]
        image=image,
        question="What does the image show?",
        options=DISEASES,
        answer=("A",),
        disease=disease,
        source=source,
        modality="xray" if source != "rsna" else "mri",
    )


def _random_questions(rng: random.Random, images: int) -> list[Question]:
    """Images of a few sources: each has a diagnosis, some also a localization finding."""
    questions: list[Question] = []
    for number in range(images):
        source = rng.choice(["vindr", "buu", "rsna"])
        image = f"{number:064x}"
        disease = rng.choice([HEALTHY, *DISEASE_NAMES[:4]])
        questions.append(_question(number, image, disease, source=source))
        if disease != HEALTHY and rng.random() < 0.5:
            extra = rng.choice([d for d in DISEASE_NAMES[:4]])
            questions.append(_question(number, image, extra, task="SLL", source=source))
    return questions


@pytest.mark.parametrize("seed", range(12))
def test_shuffled_never_gives_a_question_its_own_image_nor_one_of_its_disease(seed: int) -> None:
    questions = _random_questions(random.Random(seed), images=60)
    diseases: dict[str, set[str]] = {}
    for q in questions:
        diseases.setdefault(q.image, set()).add(q.disease)
    group = {q.image: (q.source, q.modality) for q in questions}
    donors = shuffle_donors(questions, seed)
    assert set(donors) == {(q.image, q.disease) for q in questions}
    same_group = 0
    for (image, disease), donor in donors.items():
        assert donor != image
        assert disease not in diseases[donor]
        same_group += group[donor] == group[image]
    assert same_group >= 0.9 * len(donors)  # the same source and modality nearly always
    assert donors == shuffle_donors(list(reversed(questions)), seed)  # order of the questions is irrelevant


def test_shuffled_is_a_derangement_of_the_images_when_no_disease_dominates() -> None:
    questions = [_question(n, f"{n:064x}", [HEALTHY, *DISEASE_NAMES][n % 4]) for n in range(40)]
    donors = shuffle_donors(questions, seed=5)
    shown = Counter(donors.values())
    assert set(shown) == {q.image for q in questions} and set(shown.values()) == {1}  # a permutation
    assert donors != shuffle_donors(questions, seed=6)  # the seed decides it


def test_shuffled_refuses_when_no_image_without_the_disease_exists() -> None:
    questions = [_question(n, f"{n:064x}", "Osteophytes") for n in range(3)]
    with pytest.raises(ImageControlError, match="image without Osteophytes"):
        shuffle_donors(questions, seed=0)


def test_shuffled_on_the_sample_reads_another_disease_image() -> None:
    sample = open_sample()
    questions = list(sample.iter_questions())
    images = ControlledImages(sample, "shuffled", seed=0, questions=questions)
    by_image: dict[str, set[str]] = {}
    for q in questions:
        by_image.setdefault(q.image, set()).add(q.disease)
    for question in questions:
        donor = images.donor(question)
        assert donor != question.image and question.disease not in by_image[donor]
        assert images.read(question) == sample.read_image(next(q for q in questions if q.image == donor))


class RecordingProvider:
    """A fake backend that keeps every image it is sent."""

    def __init__(self) -> None:
        self.images: dict[str, bytes | None] = {}

    @property
    def spec(self) -> str:
        return "openai:recording"

    def describe(self) -> dict[str, Any]:
        return {"provider": "recording"}

    async def complete(self, request: ChatRequest) -> Completion:
        self.images[request.id] = request.image
        return Completion("My final option: [A]")

    async def aclose(self) -> None:
        return None


def _bench(tmp_path: Path) -> Benchmark:
    writer = BenchmarkWriter(tmp_path / "bench", name="controls")
    for number, disease in enumerate(DISEASES * 2):
        image = writer.add_image(_jpeg((30 + number, 20), (number * 20, 50, 90)))
        writer.add_question(_question(number, image, disease, source="synthetic"))
    writer.close()
    return Benchmark.open(tmp_path / "bench")


@pytest.mark.parametrize("control", ["text-only", "blank", "noise", "shuffled"])
def test_control_runs_send_the_changed_image_and_resume(tmp_path: Path, control: str) -> None:
    bench = _bench(tmp_path)
    settings = EvalSettings(model="openai:recording", image_control=control)  # type: ignore[arg-type]
    provider = RecordingProvider()
    out = tmp_path / "run"
    result = evaluate(bench, out, settings, provider=provider)
    assert result.answered_now == len(bench) and result.scores["status"] == "complete"
    questions = {q.id: q for q in bench.iter_questions()}
    for qid, sent in provider.images.items():
        own = bench.read_image(questions[qid])
        if control == "text-only":
            assert sent is None
        else:
            assert sent is not None and sent != own
            assert _pixels(sent).shape == _pixels(own).shape or control == "shuffled"
            if control == "blank":
                assert (_pixels(sent) == BLANK_LEVEL).all()
    record = RunDirectory(out).read_run_json()
    assert record is not None and record["identity"]["image_control"] == control
    assert record["image_control"]["kind"] == control

    again = RecordingProvider()
    resumed = evaluate(bench, out, settings, provider=again)
    assert resumed.answered_now == 0 and not again.images  # resumed: nothing asked twice

    with pytest.raises(RunDirectoryError, match="image_control"):
        evaluate(bench, out, EvalSettings(model="openai:recording"), provider=RecordingProvider())


class RecordingBaseline:
    """A built-in-style answerer (task side): it is given the image the control leaves."""

    def __init__(self) -> None:
        self.images: list[bytes | None] = []

    @property
    def spec(self) -> str:
        return "recording"

    def describe(self) -> dict[str, Any]:
        return {"provider": "recording-baseline"}

    def fit(self, benchmark: Benchmark, questions: Any) -> None:
        return None

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer:
        self.images.append(image)
        return BaselineAnswer(("A",))


@pytest.mark.parametrize("control", ["text-only", "blank"])
def test_baselines_see_the_controlled_image_too(tmp_path: Path, control: str) -> None:
    bench = _bench(tmp_path)
    baseline = RecordingBaseline()
    settings = EvalSettings(model="prior", image_control=control)  # type: ignore[arg-type]
    evaluate(bench, tmp_path / "run", settings, provider=baseline)
    assert len(baseline.images) == len(bench)
    if control == "text-only":
        assert baseline.images == [None] * len(bench)
    else:
        assert all(image is not None and (_pixels(image) == BLANK_LEVEL).all() for image in baseline.images)


def test_a_subset_run_gives_each_question_the_donor_of_the_full_run(tmp_path: Path) -> None:
    sample = open_sample()
    full, sub = RecordingProvider(), RecordingProvider()
    evaluate(
        sample, tmp_path / "full", EvalSettings(model="openai:r", image_control="shuffled"), provider=full
    )
    settings = EvalSettings(model="openai:r", image_control="shuffled", subset="sub")
    evaluate(sample, tmp_path / "sub", settings, provider=sub)
    assert len(sub.images) == sample.count("sub") < len(full.images)
    assert all(image == full.images[qid] for qid, image in sub.images.items())
