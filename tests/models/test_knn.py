from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.catalog import build_catalog
from spinebench.catalog._build import Reader
from spinebench.errors import ModelSpecError
from spinebench.models import ChatRequest, ProviderError, ProviderOptions, make_provider
from spinebench.models.knn import KnnBaseline, KnnBaselineError, asked_finding
from spinebench.questions import BuildSettings, build_benchmark
from spinebench.run import EvalSettings, evaluate
from spinebench.sources.buu import read_buu
from spinebench.sources.csxa import read_csxa
from spinebench.sources.rsna_lumbar import read_rsna_lumbar
from spinebench.sources.vindr import read_vindr
from spinebench.synth import write_synthetic_sources


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = tmp_path_factory.mktemp("knn")
    sources = write_synthetic_sources(root / "sources", seed=5)
    readers: dict[str, tuple[Reader, Path]] = {
        "vindr": (read_vindr, sources["vindr"]),
        "rsna": (partial(read_rsna_lumbar, min_severity="Moderate"), sources["rsna"]),
        "csxa": (read_csxa, sources["csxa"]),
        "buu": (read_buu, sources["buu"]),
    }
    build_catalog(readers, root / "catalog", key=b"a-key-for-the-knn-tests", workers=1)
    build_benchmark(root / "catalog", root / "bench", BuildSettings(encoder="pixels", sub_sdd=20, sub_sll=10))
    return Benchmark.open(root / "bench")


def _accuracy(bench: Benchmark, spec: str, out: Path) -> dict[str, float]:
    provider = make_provider(spec, ProviderOptions(benchmark=bench.path))
    scores = evaluate(bench, out, EvalSettings(model=spec), provider=provider).scores
    return {task: scores["tasks"][task]["accuracy"] for task in ("SDD", "SLL")}


def test_knn_beats_random_on_synthetic_data(bench: Benchmark, tmp_path: Path) -> None:
    knn = _accuracy(bench, "knn", tmp_path / "knn")
    chance = _accuracy(bench, "random", tmp_path / "random")
    assert knn["SDD"] > max(0.2, chance["SDD"]) + 0.15
    assert knn["SLL"] > chance["SLL"]


def test_knn_describes_what_decides_its_answers(bench: Benchmark) -> None:
    provider = make_provider("knn:3", ProviderOptions(benchmark=bench.path))
    assert provider.spec == "knn:3"
    described = provider.describe()
    assert described["k"] == 3 and described["encoder"] == "pixels"
    assert described["library_images"] > 0 and described["library_per_class"]["Healthy"] > 0


def test_the_question_image_itself_is_not_a_neighbour(bench: Benchmark) -> None:
    knn = KnnBaseline(bench.path, k=1)
    question = next(q for q in bench.iter_questions() if q.task == "SDD")
    request = ChatRequest(question.id, question.question, bench.read_image(question), question.options, False)
    text = asyncio.run(knn.complete(request)).text
    assert text.splitlines()[-1].startswith("My final option: [")
    assert " 1.000" not in text  # an identical image would score 1.000


def test_localization_votes_with_images_of_the_asked_finding(bench: Benchmark) -> None:
    knn = KnnBaseline(bench.path, k=3)
    question = next(q for q in bench.iter_questions() if q.task == "SLL")
    request = ChatRequest(question.id, question.question, bench.read_image(question), question.options, True)
    text = asyncio.run(knn.complete(request)).text
    assert question.disease in text
    assert text.splitlines()[-1].startswith("My final options: [")


def test_asked_finding_takes_the_longest_disease_name() -> None:
    assert asked_finding("Where is the spinal canal stenosis?") == "Spinal canal stenosis"
    assert asked_finding("Levels of FORAMINAL STENOSIS, please") == "Foraminal stenosis"
    assert asked_finding("Which levels are abnormal?") is None


def test_knn_needs_a_benchmark_with_a_library(tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError, match="reference library"):
        make_provider("knn")
    with pytest.raises(ModelSpecError, match="K must be"):
        make_provider("knn:0", ProviderOptions(benchmark=SAMPLE_PATH))
    with pytest.raises(KnnBaselineError, match=r"library\.npz"):
        make_provider("knn", ProviderOptions(benchmark=SAMPLE_PATH))


def test_an_unreadable_image_is_an_error_not_a_wrong_answer(bench: Benchmark) -> None:
    knn = KnnBaseline(bench.path, k=3)
    question = next(q for q in bench.iter_questions() if q.task == "SDD")
    request = ChatRequest(question.id, question.question, b"not an image", question.options, False)
    with pytest.raises(ProviderError) as caught:
        asyncio.run(knn.complete(request))
    assert (caught.value.kind, caught.value.retryable) == ("client", False)
    assert question.id in caught.value.message
