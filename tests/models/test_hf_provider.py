"""The transformers backend, on a tiny randomly initialised LLaVA built here (no download), on the CPU."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cli import app
from spinebench.errors import ModelSpecError
from spinebench.models import (
    ChatRequest,
    Completion,
    GenerationParams,
    Provider,
    ProviderError,
    ProviderOptions,
    make_provider,
)
from spinebench.models._local import MicroBatcher
from spinebench.models.hf import HFProvider
from spinebench.prompts import PAPER, PLAIN
from spinebench.run import PREDICTIONS, EvalSettings, evaluate
from spinebench.taxonomy import DISEASE_NAMES, LEVELS
from spinebench.testing import require

# A chat template in the usual multimodal style: content is a list of parts; an image part becomes <image>.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<s>' + m['role'] + ': ' }}"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'text' %}{{ p['text'] }}{% elif p['type'] == 'image' %}{{ '<image>' }}{% endif %}"
    "{% endfor %}{% endif %}{{ '</s>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<s>assistant: ' }}{% endif %}"
)


def build_tiny_llava(path: Path) -> None:
    """A LLaVA with a 2-layer CLIP vision tower and 2-layer Llama (hidden size 32) and a byte-level BPE
    tokenizer trained here on the prompt wording, saved with save_pretrained."""
    torch = require("torch")
    transformers = require("transformers")
    tokenizers = require("tokenizers")
    corpus = [PAPER.diagnosis, PAPER.localization, PLAIN.diagnosis, *DISEASE_NAMES, *LEVELS] * 3
    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    bpe.train_from_iterator(
        corpus,
        tokenizers.trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<pad>", "<s>", "</s>", "<image>"],
            initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        chat_template=CHAT_TEMPLATE,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    processor = transformers.LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token; "default" drops it again: 16 image tokens
        chat_template=CHAT_TEMPLATE,
    )
    vision = transformers.CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    text = transformers.LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    config = transformers.LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-llava")
    build_tiny_llava(path)
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def jpeg(shade: int, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (shade, 60, 120)).save(buffer, format="JPEG")
    return buffer.getvalue()


def request(
    text: str, *, image: bytes | None = None, params: GenerationParams | None = None, rid: str = "q"
) -> ChatRequest:
    return ChatRequest(
        id=rid,
        text=text,
        image=image if image is not None else jpeg(90),
        params=params or GenerationParams(max_tokens=6),
    )


async def answer_all(provider: Provider, requests: list[ChatRequest]) -> list[Completion | BaseException]:
    try:
        return await asyncio.gather(*(provider.complete(r) for r in requests), return_exceptions=True)
    finally:
        await provider.aclose()


def on_cpu(path: Path) -> HFProvider:
    """CPU and float32 even where there is a GPU, so that answers compare exactly."""
    return HFProvider(str(path), ProviderOptions(device="cpu"))


class CountingProvider:
    """Passes requests to a real provider and counts them."""

    def __init__(self, inner: HFProvider) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def spec(self) -> str:
        return self.inner.spec

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_tiny_llava_runs_the_sample_through_spinebench_eval(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["eval", "--model", f"hf:{tiny_model}", "--max-tokens", "8", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads((out / "scores.json").read_text())
    assert scores["status"] == "complete" and scores["counts"]["questions"] == 38
    assert scores["counts"].get("errors", 0) == 0
    lines = [json.loads(line) for line in (out / PREDICTIONS).read_text().splitlines()]
    assert len(lines) == 38
    assert all(isinstance(p["response"], str) and p["error"] is None for p in lines)
    assert all(1 <= p["output_tokens"] <= 8 and p["input_tokens"] > 100 for p in lines)
    # A random tiny model rambles: whatever it says is read by the rules alone (no judge here).
    assert {p["stage"] for p in lines} <= {"strict", "tolerant", "text", "unparsed", "refused", "truncated"}
    provider = json.loads((out / "run.json").read_text())["provider"]
    assert provider["provider"] == "hf" and provider["source"] == str(tiny_model.resolve())
    torch = require("torch")
    placement = ("cuda", "bfloat16") if torch.cuda.is_available() else ("cpu", "float32")  # "auto"
    assert (provider["device"], provider["dtype"], provider["batch_size"]) == (*placement, 8)
    assert provider["torch"] and provider["transformers"]


def test_resume_asks_only_the_unanswered_questions(tiny_model: Path, tmp_path: Path) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    settings = EvalSettings(model=f"hf:{tiny_model}", params=GenerationParams(max_tokens=4), concurrency=8)
    first = on_cpu(tiny_model)
    evaluate(bench, tmp_path / "run", settings, provider=first)
    assert max(first._batcher.batches) > 1  # concurrent requests really were answered together
    predictions = tmp_path / "run" / PREDICTIONS
    lines = predictions.read_text().splitlines(keepends=True)
    predictions.write_text("".join(lines[:10]))  # as if the run had been stopped after ten answers

    resumed = CountingProvider(on_cpu(tiny_model))
    result = evaluate(bench, tmp_path / "run", settings, provider=resumed)
    assert resumed.calls == 28 and result.answered_now == 28
    assert result.scores["status"] == "complete"
    again_lines = predictions.read_text().splitlines(keepends=True)
    assert again_lines[:10] == lines[:10] and len(again_lines) == 38
    # Greedy answers repeat: the resumed ones equal those of the first run.
    first_answers = dict(_responses(lines))
    assert all(first_answers[qid] == response for qid, response in _responses(again_lines[10:]))

    idle = CountingProvider(on_cpu(tiny_model))
    evaluate(bench, tmp_path / "run", settings, provider=idle)
    assert idle.calls == 0 and not idle.inner.loaded  # nothing to answer: the model is never even loaded


def _responses(lines: list[str]) -> list[tuple[str, str]]:
    return [(record["question_id"], record["response"]) for record in map(json.loads, lines)]


def test_greedy_answers_do_not_depend_on_the_batch(tiny_model: Path) -> None:
    texts = ["Which level? " * n for n in (1, 9, 3, 20)]  # lengths differ: the batch is left-padded
    requests = [request(text, image=jpeg(30 * n), rid=f"q{n}") for n, text in enumerate(texts)]
    together = asyncio.run(answer_all(on_cpu(tiny_model), requests))
    alone = [asyncio.run(answer_all(on_cpu(tiny_model), [r]))[0] for r in requests]
    assert all(isinstance(c, Completion) for c in together)
    assert [c.text for c in together] == [c.text for c in alone]  # type: ignore[union-attr]
    assert [c.input_tokens for c in together] == [c.input_tokens for c in alone]  # type: ignore[union-attr]


def test_sampling_repeats_with_its_seed(tiny_model: Path) -> None:
    def sampled(seed: int) -> str:
        params = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=8, seed=seed)
        (completion,) = asyncio.run(answer_all(on_cpu(tiny_model), [request("Which?", params=params)]))
        assert isinstance(completion, Completion)
        return completion.text

    assert sampled(3) == sampled(3)
    assert sampled(3) != sampled(4)


def test_unreadable_image_fails_alone_and_text_only_requests_work(tiny_model: Path) -> None:
    broken = request("Which disease?", image=b"not an image", rid="broken")
    params = GenerationParams(max_tokens=6)
    text_only = ChatRequest(
        id="judge",
        text="Answer with a letter.",
        image=None,
        params=params,
    )
    results = asyncio.run(answer_all(on_cpu(tiny_model), [request("Which disease?"), broken, text_only]))
    assert isinstance(results[0], Completion) and isinstance(results[2], Completion)
    error = results[1]
    assert isinstance(error, ProviderError) and (error.kind, error.retryable) == ("client", False)
    assert "broken" in error.message


def test_a_path_without_a_model_is_named(tmp_path: Path) -> None:
    require("transformers")
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelSpecError, match=f"no model at {missing}"):
        make_provider(f"hf:{missing}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelSpecError, match="empty holds no model"):
        make_provider(f"hf:{tmp_path / 'empty'}")
    result = CliRunner().invoke(app, ["eval", "--model", f"hf:{missing}", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "no model at" in result.output
    assert not (tmp_path / "run").exists()


def test_a_model_that_cannot_load_stops_the_run_with_its_path(tmp_path: Path) -> None:
    require("transformers")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    results = asyncio.run(answer_all(make_provider(f"hf:{broken}"), [request("x"), request("y")]))
    assert all(isinstance(r, ModelSpecError) for r in results)
    assert f"cannot load a processor from {broken}" in str(results[0])
    settings = EvalSettings(model=f"hf:{broken}", params=GenerationParams(max_tokens=4))
    with pytest.raises(ModelSpecError, match=f"cannot load a processor from {broken}"):
        evaluate(Benchmark.open(SAMPLE_PATH), tmp_path / "run", settings)


def test_missing_extra_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(ModelSpecError, match=r"pip install 'spinebench\[hf\]'"):
        make_provider(f"hf:{tmp_path}")


def test_bad_dtype_is_refused(tmp_path: Path) -> None:
    require("transformers")
    with pytest.raises(ModelSpecError, match="float64"):
        make_provider(f"hf:{tmp_path}", ProviderOptions(dtype="float64"))


def test_runs_on_cuda_in_bfloat16_when_there_is_a_gpu(tiny_model: Path) -> None:
    torch = require("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    provider = HFProvider(str(tiny_model))
    assert (provider.describe()["device"], provider.describe()["dtype"]) == ("cuda", "bfloat16")
    provider.load()
    model = provider._loaded.model  # type: ignore[union-attr]
    assert (model.device.type, model.dtype) == ("cuda", torch.bfloat16)
    results = asyncio.run(answer_all(provider, [request(f"Which level {n}?", rid=f"q{n}") for n in range(5)]))
    assert all(isinstance(r, Completion) and 1 <= (r.output_tokens or 0) <= 6 for r in results)


def test_importing_and_constructing_loads_no_torch(tiny_model: Path) -> None:
    code = (
        "import sys; from spinebench.models import make_provider; import spinebench.run;"
        f"p = make_provider('hf:{tiny_model}'); print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["False", "False"]


# The batcher alone: no model, no torch.


def _echo(batches: list[list[str]]) -> Any:
    def run_batch(requests: list[ChatRequest]) -> list[Completion | ProviderError]:
        batches.append([r.id for r in requests])
        if any(r.id == "poison" for r in requests):
            raise RuntimeError("poison")
        return [Completion(r.id) for r in requests]

    return run_batch


def _failure(error: Exception) -> ProviderError:
    return ProviderError("server", str(error), retryable=False)


def test_batcher_gathers_concurrent_requests_up_to_the_batch_size() -> None:
    seen: list[list[str]] = []
    batcher = MicroBatcher(_echo(seen), 8, _failure)

    async def main() -> list[Completion]:
        try:
            return await asyncio.gather(*(batcher.submit(request("t", rid=f"r{n}")) for n in range(20)))
        finally:
            await batcher.aclose()

    completions = asyncio.run(main())
    assert [c.text for c in completions] == [f"r{n}" for n in range(20)]
    assert [len(batch) for batch in seen] == [8, 8, 4]


def test_batcher_isolates_a_failing_request() -> None:
    seen: list[list[str]] = []
    batcher = MicroBatcher(_echo(seen), 4, _failure)

    async def main() -> list[Completion | BaseException]:
        ids = ["a", "poison", "b"]
        try:
            return await asyncio.gather(
                *(batcher.submit(request("t", rid=i)) for i in ids), return_exceptions=True
            )
        finally:
            await batcher.aclose()

    first, poisoned, last = asyncio.run(main())
    assert isinstance(first, Completion) and isinstance(last, Completion)
    assert isinstance(poisoned, ProviderError) and poisoned.message == "poison"
    assert seen == [["a", "poison", "b"], ["a"], ["poison"], ["b"]]


def test_batcher_spreads_a_fatal_error_to_every_request() -> None:
    def cannot_load(requests: list[ChatRequest]) -> list[Completion | ProviderError]:
        raise ModelSpecError("hf: cannot load a processor from /m")

    batcher = MicroBatcher(cannot_load, 4, _failure)

    async def main() -> list[Completion | BaseException]:
        try:
            return await asyncio.gather(
                *(batcher.submit(request("t")) for _ in range(3)), return_exceptions=True
            )
        finally:
            await batcher.aclose()

    assert all(isinstance(r, ModelSpecError) for r in asyncio.run(main()))
