"""The vLLM backend's requests, without vLLM: plain-dict building, and the provider over a stand-in `vllm`."""

from __future__ import annotations

import asyncio
import base64
import importlib.machinery
import inspect
import io
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from spinebench.errors import ModelSpecError
from spinebench.models import (
    ChatRequest,
    Completion,
    GenerationParams,
    ProviderError,
    ProviderOptions,
    make_provider,
)
from spinebench.models.vllm_offline import VLLMProvider, engine_kwargs, sampling_kwargs, vllm_request
from spinebench.testing import require


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 90, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def request(
    rid: str = "q1", *, image: bytes | None = None, params: GenerationParams | None = None
) -> ChatRequest:
    return ChatRequest(
        id=rid,
        text=f"{rid}: which level?",
        image=jpeg() if image is None else image,
        params=params or GenerationParams(),
    )


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def test_sampling_kwargs_are_greedy_by_default_and_carry_the_seed() -> None:
    assert sampling_kwargs(GenerationParams()) == {"temperature": 0.0, "max_tokens": 1024, "seed": 0}
    sampled = sampling_kwargs(GenerationParams(temperature=0.7, top_p=0.9, max_tokens=64, seed=None))
    assert sampled == {"temperature": 0.7, "max_tokens": 64, "top_p": 0.9}


def test_request_is_text_then_the_image_as_a_jpeg_data_url() -> None:
    image = jpeg()
    built = vllm_request(request(image=image, params=GenerationParams(max_tokens=5, seed=7)), 1024, 90)
    (user,) = built.conversation
    text, picture = user["content"]
    assert text == {"type": "text", "text": "q1: which level?"}
    prefix, _, data = picture["image_url"]["url"].partition(",")
    assert picture["type"] == "image_url" and prefix == "data:image/jpeg;base64"
    assert base64.b64decode(data) == image  # a small JPEG goes as it is, as to a server
    assert built.sampling == {"temperature": 0.0, "max_tokens": 5, "seed": 7}


def test_large_images_are_downscaled_as_for_a_server() -> None:
    built = vllm_request(request(image=jpeg((400, 100))), 200, 90)
    data = built.conversation[0]["content"][1]["image_url"]["url"].partition(",")[2]
    with Image.open(io.BytesIO(base64.b64decode(data))) as img:
        assert img.size == (200, 50)


def test_unreadable_image_is_a_client_error() -> None:
    with pytest.raises(ProviderError) as caught:
        vllm_request(request("bad", image=b"not an image"), 1024, 90)
    assert (caught.value.kind, caught.value.retryable) == ("client", False)
    assert "bad" in caught.value.message


def test_engine_kwargs_follow_the_options() -> None:
    options = ProviderOptions(dtype="bfloat16", tensor_parallel_size=2, seed=3, trust_remote_code=True)
    assert engine_kwargs("/models/qwen", options) == {
        "model": "/models/qwen",
        "tensor_parallel_size": 2,
        "dtype": "bfloat16",
        "seed": 3,
        "trust_remote_code": True,
        "limit_mm_per_prompt": {"image": 1},
    }


# The provider over a stand-in vllm module that records what it is given.


@dataclass
class FakeSample:
    text: str
    token_ids: list[int]
    finish_reason: str


@dataclass
class FakeOutput:
    prompt_token_ids: list[int]
    outputs: list[FakeSample]


class FakeSamplingParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class FakeLLM:
    made: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[tuple[list[list[dict[str, Any]]], list[dict[str, Any]], bool]]] = []
    threads: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        if kwargs["model"].endswith("cannot-start"):
            raise RuntimeError("CUDA out of memory while profiling")
        FakeLLM.made.append(kwargs)
        FakeLLM.threads.append(threading.current_thread().name)

    def chat(
        self, messages: list[list[dict[str, Any]]], sampling_params: list[FakeSamplingParams], use_tqdm: bool
    ) -> list[FakeOutput]:
        FakeLLM.calls.append((messages, [p.kwargs for p in sampling_params], use_tqdm))
        outputs = []
        for conversation in messages:
            text = conversation[-1]["content"][0]["text"]
            if text.startswith("crash"):
                raise RuntimeError("engine step failed")
            outputs.append(
                FakeOutput(list(range(len(text))), [FakeSample(f"answer to {text}", [5, 6, 7], "stop")])
            )
        return outputs


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> type[FakeLLM]:
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", loader=None)
    module.LLM = FakeLLM  # type: ignore[attr-defined]
    module.SamplingParams = FakeSamplingParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.made, FakeLLM.calls, FakeLLM.threads = [], [], []
    return FakeLLM


async def answer_all(provider: Any, requests: list[ChatRequest]) -> list[Any]:
    try:
        return await asyncio.gather(*(provider.complete(r) for r in requests), return_exceptions=True)
    finally:
        await provider.aclose()


def test_provider_batches_requests_through_llm_chat(fake_vllm: type[FakeLLM], model_dir: Path) -> None:
    options = ProviderOptions(batch_size=4, tensor_parallel_size=2, seed=11)
    provider = make_provider(f"vllm:{model_dir}", options)
    assert isinstance(provider, VLLMProvider) and fake_vllm.made == []  # no engine before the first request
    described = provider.describe()
    assert described["engine"]["tensor_parallel_size"] == 2 and "SamplingParams" in described["sampling"]
    params = [GenerationParams(max_tokens=16, seed=n) for n in range(10)]
    requests = [request(f"r{n}", params=params[n]) for n in range(10)]
    completions = asyncio.run(answer_all(provider, requests))

    assert [c.text for c in completions] == [f"answer to r{n}: which level?" for n in range(10)]
    assert all(
        c.output_tokens == 3 and c.input_tokens == len(f"r{n}: which level?")
        for n, c in enumerate(completions)
    )
    assert completions[0].finish_reason == "stop"
    (made,) = fake_vllm.made
    assert made == engine_kwargs(str(model_dir.resolve()), options)
    assert fake_vllm.threads == [threading.main_thread().name]  # vLLM starts its workers from the main thread
    assert [len(messages) for messages, _, _ in fake_vllm.calls] == [4, 4, 2]
    sent_sampling = [kwargs for _, batch, _ in fake_vllm.calls for kwargs in batch]
    assert sent_sampling == [sampling_kwargs(p) for p in params]  # each request keeps its own seed
    assert all(use_tqdm is False for _, _, use_tqdm in fake_vllm.calls)


def test_one_failing_request_does_not_fail_its_batch(fake_vllm: type[FakeLLM], model_dir: Path) -> None:
    provider = make_provider(f"vllm:{model_dir}", ProviderOptions(batch_size=8))
    crash = ChatRequest(id="c", text="crash now", image=None)
    bad_image = request("img", image=b"not an image")
    results = asyncio.run(answer_all(provider, [request("a"), crash, bad_image, request("b")]))
    assert isinstance(results[0], Completion) and isinstance(results[3], Completion)
    assert isinstance(results[1], ProviderError) and results[1].kind == "server"
    assert "engine step failed" in results[1].message
    assert isinstance(results[2], ProviderError) and results[2].kind == "client"


def test_an_engine_that_cannot_start_is_named(fake_vllm: type[FakeLLM], tmp_path: Path) -> None:
    source = tmp_path / "cannot-start"
    source.mkdir()
    (source / "config.json").write_text("{}")
    results = asyncio.run(answer_all(make_provider(f"vllm:{source}"), [request("a"), request("b")]))
    assert all(isinstance(r, ModelSpecError) for r in results)
    assert f"cannot start an engine for {source}" in str(results[0]) and "out of memory" in str(results[0])
    assert fake_vllm.made == []


def test_missing_vllm_and_wrong_paths_are_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if it were not installed
    with pytest.raises(ModelSpecError, match=r"pip install 'spinebench\[vllm\]'"):
        make_provider(f"vllm:{tmp_path}")


def test_wrong_path_and_options_are_refused(fake_vllm: type[FakeLLM], tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError, match=f"no model at {tmp_path / 'nowhere'}"):
        make_provider(f"vllm:{tmp_path / 'nowhere'}")
    with pytest.raises(ModelSpecError, match="holds no model"):
        make_provider(f"vllm:{tmp_path}")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelSpecError, match="tensor_parallel_size"):
        make_provider(f"vllm:{tmp_path}", ProviderOptions(tensor_parallel_size=0))
    hub = make_provider("vllm:Qwen/Qwen2.5-VL-7B-Instruct")  # a hub id is fetched on load, not checked here
    assert hub.describe()["source"] == "Qwen/Qwen2.5-VL-7B-Instruct"


def test_kwargs_fit_the_real_vllm_api() -> None:
    vllm = require("vllm")
    params = vllm.SamplingParams(**sampling_kwargs(GenerationParams(temperature=0.5, top_p=0.9, seed=1)))
    assert (params.temperature, params.top_p, params.seed) == (0.5, 0.9, 1)
    chat = inspect.signature(vllm.LLM.chat).parameters
    assert {"messages", "sampling_params", "use_tqdm"} <= set(chat)
    llm = inspect.signature(vllm.LLM.__init__).parameters
    assert {"model", "tensor_parallel_size", "dtype", "seed", "trust_remote_code"} <= set(llm)
