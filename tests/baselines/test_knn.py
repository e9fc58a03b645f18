from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from spinebench.baselines import KnnBaseline, KnnBaselineError, make_baseline
from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.catalog import SourceFolders, build_catalog
from spinebench.errors import ModelSpecError
from spinebench.models import ProviderError
from spinebench.questions import BuildSettings, build_benchmark
from spinebench.run import EvalSettings, evaluate


@pytest.fixture(scope="module")
def bench(synthetic_sources: SourceFolders, tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = tmp_path_factory.mktemp("knn")
    build_catalog(synthetic_sources.readers(), root / "catalog", key=b"a-key-for-the-knn-tests", workers=1)
    build_benchmark(root / "catalog", root / "bench", BuildSettings(encoder="pixels", sub_sdd=20, sub_sll=10))
    return Benchmark.open(root / "bench")


def _fitted(bench: Benchmark, k: int) -> KnnBaseline:
    knn = KnnBaseline(k=k)
    knn.fit(bench, bench.iter_questions())
    return knn


def _accuracy(bench: Benchmark, spec: str, out: Path) -> dict[str, float]:
    scores = evaluate(bench, out, EvalSettings(model=spec)).scores
    return {task: scores["tasks"][task]["accuracy"] for task in ("SDD", "SLL")}


def test_knn_beats_random_on_synthetic_data(bench: Benchmark, tmp_path: Path) -> None:
    knn = _accuracy(bench, "knn", tmp_path / "knn")
    chance = _accuracy(bench, "random", tmp_path / "random")
    assert knn["SDD"] > max(0.2, chance["SDD"]) + 0.15
    assert knn["SLL"] > chance["SLL"]


def test_knn_describes_what_decides_its_answers(bench: Benchmark) -> None:
    knn = make_baseline("knn:3")
    knn.fit(bench, bench.iter_questions())
    assert knn.spec == "knn:3"
    described = knn.describe()
    assert described["k"] == 3 and described["encoder"] == "pixels"
    assert described["library_images"] > 0 and described["library_per_class"]["Healthy"] > 0


def test_the_question_image_itself_is_not_a_neighbour(bench: Benchmark) -> None:
    knn = _fitted(bench, 1)
    question = next(q for q in bench.iter_questions() if q.task == "SDD")
    reply = asyncio.run(knn.answer(question, bench.read_image(question)))
    assert len(reply.letters) == 1
    assert " 1.000" not in reply.reason  # an identical image would score 1.000


def test_localization_votes_with_images_of_the_asked_finding(bench: Benchmark) -> None:
    knn = _fitted(bench, 3)
    question = next(q for q in bench.iter_questions() if q.task == "SLL")
    reply = asyncio.run(knn.answer(question, bench.read_image(question)))
    assert question.disease in reply.reason
    assert reply.letters and set(reply.letters) <= set(question.letters)


def test_without_an_image_knn_answers_as_prior_and_says_so(bench: Benchmark) -> None:
    knn = _fitted(bench, 3)
    prior = make_baseline("prior")
    prior.fit(bench, bench.iter_questions())
    for question in list(bench.iter_questions())[:10]:
        blind = asyncio.run(knn.answer(question, None))
        assert blind.letters == asyncio.run(prior.answer(question, None)).letters
        assert "prior" in blind.reason


def test_knn_needs_a_benchmark_with_a_library() -> None:
    with pytest.raises(ModelSpecError, match="K must be"):
        make_baseline("knn:0")
    with pytest.raises(KnnBaselineError, match=r"library\.npz"):
        make_baseline("knn").fit(Benchmark.open(SAMPLE_PATH), [])


def test_an_unreadable_image_is_an_error_not_a_wrong_answer(bench: Benchmark) -> None:
    knn = _fitted(bench, 3)
    question = next(q for q in bench.iter_questions() if q.task == "SDD")
    with pytest.raises(ProviderError) as caught:
        asyncio.run(knn.answer(question, b"not an image"))
    assert (caught.value.kind, caught.value.retryable) == ("client", False)
    assert question.id in caught.value.message
