"""OpenAICompatProvider against the scripted OpenAI-compatible stub on 127.0.0.1 (no other network)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image

from spinebench.errors import ModelSpecError
from spinebench.models import (
    ChatRequest,
    Completion,
    GenerationParams,
    ProviderError,
    ProviderOptions,
    RetryPolicy,
    _openai_client,
    openai_compat,
)
from spinebench.models.openai_compat import OpenAICompatProvider, parse_retry_after
from spinebench.testing import DEFAULT_ANSWER, OpenAIStubServer, Script, StubReply, script_by_marker

T = TypeVar("T")
KEY_ENV = "SPINEBENCH_TEST_OPENAI_KEY"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def image_bytes(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, format=fmt)
    return buffer.getvalue()


SMALL_JPEG = image_bytes("JPEG", (64, 48))


def chat(
    text: str = "Which disease? A. Osteophytes B. Healthy",
    *,
    image: bytes | None = SMALL_JPEG,
    system: str | None = None,
    params: GenerationParams | None = None,
) -> ChatRequest:
    return ChatRequest(
        id="q1",
        text=text,
        image=image,
        system=system,
        params=params or GenerationParams(),
    )


class FakeSleep:
    """Records the waits between retries instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ADMIN_KEY", "OPENAI_CUSTOM_HEADERS", KEY_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer() as stub:
        yield stub


def provider_for(
    url: str,
    *,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 5.0,
    image_max_side: int = 1024,
    sleep: FakeSleep | None = None,
) -> OpenAICompatProvider:
    options = ProviderOptions(
        base_url=url, api_key_env=KEY_ENV, timeout=timeout, retry=retry, image_max_side=image_max_side
    )
    return OpenAICompatProvider("stub-vlm", options, sleep=sleep or FakeSleep())


async def complete_once(provider: OpenAICompatProvider, request: ChatRequest) -> Completion:
    try:
        return await provider.complete(request)
    finally:
        await provider.aclose()


def failure(provider: OpenAICompatProvider, request: ChatRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(complete_once(provider, request or chat()))
    return caught.value


def sent_image(server: OpenAIStubServer) -> Image.Image:
    (url,) = server.requests[-1].image_urls
    prefix, _, data = url.partition(",")
    assert prefix == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_answer_text_usage_and_finish_reason(server: OpenAIStubServer) -> None:
    completion = run(complete_once(provider_for(server.base_url), chat()))
    assert completion == Completion(
        DEFAULT_ANSWER,
        input_tokens=100,
        output_tokens=12,
        finish_reason="stop",
        image_sha256=hashlib.sha256(SMALL_JPEG).hexdigest(),  # a small JPEG goes as it is
    )


def test_null_content_is_empty_text_and_missing_usage_is_none() -> None:
    body = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "length"}
        ]
    }
    with OpenAIStubServer(lambda body_, index: StubReply.raw(json.dumps(body).encode())) as stub:
        completion = run(complete_once(provider_for(stub.base_url), chat()))
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ("", None, None)
    assert completion.finish_reason == "length"


def test_request_has_system_then_text_then_image_and_the_params(server: OpenAIStubServer) -> None:
    params = GenerationParams(temperature=0.3, max_tokens=77, seed=5, top_p=0.9)
    run(
        complete_once(
            provider_for(server.base_url),
            chat("Look \u00e9 \x00.", system="You are a surgeon.", params=params),
        )
    )
    body = server.requests[-1].body
    assert server.requests[-1].path == "/v1/chat/completions"
    assert body["model"] == "stub-vlm"
    assert (body["temperature"], body["max_tokens"], body["seed"], body["top_p"]) == (0.3, 77, 5, 0.9)
    assert "max_completion_tokens" not in body
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are a surgeon."}
    assert user["role"] == "user"
    text, image = user["content"]
    assert text == {"type": "text", "text": "Look \u00e9 \x00."}
    assert image["type"] == "image_url"
    assert image["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_seed_and_top_p_are_omitted_when_none_and_no_system_message(server: OpenAIStubServer) -> None:
    run(complete_once(provider_for(server.base_url), chat(params=GenerationParams(seed=None))))
    body = server.requests[-1].body
    assert "seed" not in body and "top_p" not in body
    assert [message["role"] for message in body["messages"]] == ["user"]


def test_request_without_image_sends_text_only(server: OpenAIStubServer) -> None:
    run(complete_once(provider_for(server.base_url), chat(image=None)))
    assert server.requests[-1].body["messages"][-1]["content"] == [
        {"type": "text", "text": chat().text},
    ]


def test_small_jpeg_is_sent_byte_for_byte(server: OpenAIStubServer) -> None:
    run(complete_once(provider_for(server.base_url), chat(image=SMALL_JPEG)))
    (url,) = server.requests[-1].image_urls
    assert base64.b64decode(url.partition(",")[2]) == SMALL_JPEG


def test_png_is_reencoded_as_rgb_jpeg(server: OpenAIStubServer) -> None:
    png = image_bytes("PNG", (60, 30), mode="L")
    run(complete_once(provider_for(server.base_url, image_max_side=100), chat(image=png)))
    sent = sent_image(server)
    assert (sent.format, sent.mode, sent.size) == ("JPEG", "RGB", (60, 30))


@pytest.mark.parametrize(
    ("fmt", "size", "expected"), [("PNG", (300, 150), (100, 50)), ("JPEG", (90, 400), (22, 100))]
)
def test_large_images_are_downscaled_to_the_longest_side(
    server: OpenAIStubServer, fmt: str, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    run(complete_once(provider_for(server.base_url, image_max_side=100), chat(image=image_bytes(fmt, size))))
    sent = sent_image(server)
    assert (sent.format, sent.size) == ("JPEG", expected)


def test_an_image_shared_by_questions_is_encoded_once(
    server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    encode = openai_compat.reencoded_jpeg

    def counting(image: bytes, max_side: int, quality: int) -> bytes:
        calls.append(len(image))
        return encode(image, max_side, quality)

    monkeypatch.setattr(openai_compat, "reencoded_jpeg", counting)
    png = image_bytes("PNG", (40, 40))

    async def three_questions() -> None:
        provider = provider_for(server.base_url)
        for text in ("first", "second", "third"):
            await provider.complete(chat(text, image=png))
        await provider.aclose()

    run(three_questions())
    assert len(calls) == 1
    assert len({request.image_urls[0] for request in server.requests}) == 1


def test_unreadable_image_is_a_client_error_without_a_request(server: OpenAIStubServer) -> None:
    error = failure(provider_for(server.base_url), chat(image=b"not an image"))
    assert (error.kind, error.retryable) == ("client", False)
    assert server.request_count == 0


def test_rate_limit_waits_as_told_then_succeeds() -> None:
    script = script_by_marker(
        {"": [StubReply.error(429, headers={"Retry-After": "1"}), StubReply.answer("ok")]}
    )
    sleep = FakeSleep()
    with OpenAIStubServer(script) as stub:
        retry = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=5.0)  # room for the asked wait
        completion = run(complete_once(provider_for(stub.base_url, retry=retry, sleep=sleep), chat()))
        assert stub.request_count == 2
    assert (completion.text, completion.attempts) == ("ok", 2)
    assert sleep.delays == [1.0]  # the server's Retry-After, not our (tiny) backoff


def test_rate_limit_after_all_attempts_keeps_kind_and_retry_after() -> None:
    with OpenAIStubServer(
        lambda body, index: StubReply.error(429, headers={"retry-after-ms": "250"})
    ) as stub:
        error = failure(provider_for(stub.base_url))
    assert (error.kind, error.retryable, error.retry_after, error.attempts) == ("rate_limit", True, 0.25, 3)


def test_server_errors_are_retried_up_to_max_attempts() -> None:
    sleep = FakeSleep()
    with OpenAIStubServer(lambda body, index: StubReply.error(500, "engine overloaded")) as stub:
        error = failure(provider_for(stub.base_url, sleep=sleep))
        assert stub.request_count == 3
    assert (error.kind, error.retryable, error.attempts) == ("server", True, 3)
    assert "500" in error.message and "engine overloaded" in error.message
    assert len(sleep.delays) == 2


def test_slow_server_is_a_timeout() -> None:
    with OpenAIStubServer(lambda body, index: StubReply.answer(delay=1.0)) as stub:
        started = time.monotonic()
        error = failure(provider_for(stub.base_url, timeout=0.2, retry=RetryPolicy(2, 0.001, 0.01)))
        elapsed = time.monotonic() - started
    assert (error.kind, error.retryable, error.attempts) == ("timeout", True, 2)
    assert elapsed < 1.5  # did not wait out the server's 1 s (twice)


def test_recovers_after_one_timeout() -> None:
    script = script_by_marker({"": [StubReply.answer(delay=0.6), StubReply.answer("late but fine")]})
    with OpenAIStubServer(script) as stub:
        completion = run(complete_once(provider_for(stub.base_url, timeout=0.2), chat()))
    assert (completion.text, completion.attempts) == ("late but fine", 2)


@pytest.mark.parametrize(
    "reply",
    [
        StubReply.raw(b'{"choices": [{"message": '),
        StubReply.raw(b"<html>502 Bad Gateway</html>", content_type="text/html"),
        StubReply.raw(b'{"object": "error", "message": "no choices here"}'),
        StubReply.raw(b'{"choices": []}'),
        StubReply.raw(b'{"choices": [{"index": 0, "text": "My final option: [A]"}]}'),
        StubReply.raw(b'{"choices": [{"index": 0, "message": null}]}'),
        StubReply.raw(b"[" * 100_000 + b"]" * 100_000),
    ],
    ids=["truncated-json", "html", "no-choices", "empty-choices", "no-message", "null-message", "deep-json"],
)
def test_malformed_replies_are_bad_responses(reply: StubReply) -> None:
    with OpenAIStubServer(lambda body, index: reply) as stub:
        error = failure(provider_for(stub.base_url))
        assert stub.request_count == 3
    assert (error.kind, error.retryable) == ("bad_response", True)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    with OpenAIStubServer(lambda body, index: StubReply.error(status, "image_url is not supported")) as stub:
        error = failure(provider_for(stub.base_url))
        assert stub.request_count == 1
    assert (error.kind, error.retryable, error.attempts) == ("client", False, 1)
    assert str(status) in error.message and "image_url is not supported" in error.message


def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(provider_for(f"http://127.0.0.1:{port}/v1"))
    assert (error.kind, error.retryable, error.attempts) == ("connection", True, 3)


def test_api_key_goes_in_the_header_and_nowhere_else(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv(KEY_ENV, secret)
    script = script_by_marker({"reject": StubReply.error(401, f"Incorrect API key provided: {secret}")})
    with OpenAIStubServer(script) as stub:
        provider = provider_for(stub.base_url)
        run(complete_once(provider, chat()))
        assert stub.requests[-1].headers["authorization"] == f"Bearer {secret}"
        error = failure(provider, chat("reject me"))
    assert secret not in json.dumps(provider.describe())
    assert secret not in error.message and secret not in str(error)
    assert "[redacted]" in error.message


def test_unset_key_sends_a_placeholder(server: OpenAIStubServer) -> None:
    run(complete_once(provider_for(server.base_url), chat()))
    assert server.requests[-1].headers["authorization"] == "Bearer EMPTY"


def test_construction_needs_no_client_key_or_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("client created too early")

    monkeypatch.setattr(_openai_client.openai, "AsyncOpenAI", no_client)
    provider = OpenAICompatProvider("qwen2.5-vl-7b", ProviderOptions(base_url="http://10.0.0.1:8000/v1/"))
    assert provider.spec == "openai:qwen2.5-vl-7b"
    assert provider.describe() == {
        "provider": "openai",
        "model": "qwen2.5-vl-7b",
        "base_url": "http://10.0.0.1:8000/v1",
        "api_key_env": "OPENAI_API_KEY",
        "timeout": 120.0,
        "image_max_side": 1024,
        "image_quality": 90,
        "max_attempts": 6,
    }
    run(provider.aclose())


def test_base_url_from_environment_when_options_have_none(
    server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    provider = OpenAICompatProvider("stub-vlm", ProviderOptions(retry=FAST_RETRY))
    assert provider.describe()["base_url"] == server.base_url
    assert run(complete_once(provider, chat())).text == DEFAULT_ANSWER
    assert server.request_count == 1


def test_parse_retry_after_forms() -> None:
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert 55 < (parse_retry_after({"retry-after": in_a_minute}) or 0) <= 60
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_non_finite_retry_after_is_ignored() -> None:
    # asyncio.sleep(nan) never returns: one such header would hang a worker for good.
    assert parse_retry_after({"retry-after": "nan"}) is None
    assert parse_retry_after({"retry-after": "inf"}) is None
    assert parse_retry_after({"retry-after-ms": "nan", "retry-after": "3"}) == 3.0


def test_nan_retry_after_from_the_server_still_retries() -> None:
    script = script_by_marker(
        {"": [StubReply.error(429, headers={"Retry-After": "nan"}), StubReply.answer()]}
    )
    sleep = FakeSleep()
    with OpenAIStubServer(script) as stub:
        completion = run(complete_once(provider_for(stub.base_url, sleep=sleep), chat()))
    assert completion.attempts == 2
    assert len(sleep.delays) == 1 and 0.0 <= sleep.delays[0] <= FAST_RETRY.max_delay


def test_lone_surrogate_in_the_reply_becomes_a_replacement_character() -> None:
    # A server that cut a string between the two halves of a UTF-16 pair sends "\ud83d" alone; kept as it
    # is, the answer could not be written to predictions.jsonl (UTF-8) and the run would stop there.
    body = b'{"choices": [{"message": {"content": "Looks odd \\ud83d\\nMy final option: [A]"}}]}'
    with OpenAIStubServer(lambda body_, index: StubReply.raw(body)) as stub:
        completion = run(complete_once(provider_for(stub.base_url), chat()))
    assert completion.text == "Looks odd \ufffd\nMy final option: [A]"
    completion.text.encode("utf-8")


@pytest.mark.parametrize(
    "url",
    ["localhost:8000/v1", "ftp://models.example/v1", "http://", "http://[::1/v1", "http://host:port/v1"],
)
def test_a_base_url_that_is_not_http_is_refused_at_construction(url: str) -> None:
    with pytest.raises(ModelSpecError, match="is not a valid http:// or https:// URL"):
        OpenAICompatProvider("m", ProviderOptions(base_url=url))


def test_a_bad_base_url_from_the_environment_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "user:s3cret@localhost:8000/v1")
    with pytest.raises(ModelSpecError) as caught:
        OpenAICompatProvider("m", ProviderOptions())
    assert "s3cret" not in str(caught.value) and "OPENAI_BASE_URL" in str(caught.value)


def test_stub_counts_calls_per_question_under_concurrency() -> None:
    flaky: Script = script_by_marker({"[flaky]": [StubReply.error(503), StubReply.answer("recovered")]})
    with OpenAIStubServer(flaky) as stub:

        async def many() -> list[Completion]:
            provider = provider_for(stub.base_url)
            requests = [chat(f"question {i} {'[flaky]' if i % 2 else ''}") for i in range(10)]
            try:
                return await asyncio.gather(*(provider.complete(request) for request in requests))
            finally:
                await provider.aclose()

        completions = run(many())
        assert stub.request_count == 15
    assert [completion.attempts for completion in completions] == [1, 2] * 5
    assert {completion.text for completion in completions[1::2]} == {"recovered"}


def test_stub_lists_its_model_and_bounds_its_record() -> None:
    with OpenAIStubServer(record=2, model="served-name") as stub:
        with urllib.request.urlopen(f"{stub.base_url}/models", timeout=5) as response:
            models = json.load(response)
        run(complete_once(provider_for(stub.base_url), chat("one")))
        run(complete_once(provider_for(stub.base_url), chat("two")))
        run(complete_once(provider_for(stub.base_url), chat("three")))
        assert [request.user_text for request in stub.requests] == ["two", "three"]
        assert stub.request_count == 3
    assert [model["id"] for model in models["data"]] == ["served-name"]


def test_stub_runs_as_a_process() -> None:
    command = [
        sys.executable,
        "-m",
        "spinebench.testing.openai_stub",
        "--port",
        "0",
        "--answer",
        "My final option: [C]",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        completion = run(complete_once(provider_for(base_url), chat()))
        assert completion.text == "My final option: [C]"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=5)
    assert "Warning" not in stderr


def test_a_reasoning_field_is_kept_apart_from_the_text() -> None:
    reply = StubReply.answer("My final option: [B]", reasoning="Spurs? No: the disc is thin.")
    with OpenAIStubServer(script_by_marker({"Which": reply})) as stub:
        completion = run(complete_once(provider_for(stub.base_url), chat()))
    assert completion.text == "My final option: [B]"
    assert completion.reasoning == "Spurs? No: the disc is thin."
    with OpenAIStubServer() as stub:
        assert run(complete_once(provider_for(stub.base_url), chat())).reasoning is None


def test_a_converted_image_is_read_back_from_the_disk_cache_byte_for_byte(
    server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    png = image_bytes("PNG", (50, 40))
    options = ProviderOptions(base_url=server.base_url, api_key_env=KEY_ENV, image_cache=tmp_path / "as-sent")
    first = run(complete_once(OpenAICompatProvider("stub-vlm", options), chat(image=png)))

    def no_conversion(image: bytes, max_side: int, quality: int) -> bytes:
        raise AssertionError("converted again")

    monkeypatch.setattr(openai_compat, "reencoded_jpeg", no_conversion)
    second = run(complete_once(OpenAICompatProvider("stub-vlm", options), chat(image=png)))
    urls = [request.image_urls[0] for request in server.requests]
    assert urls[0] == urls[1]
    sent = base64.b64decode(urls[0].partition(",")[2])
    assert first.image_sha256 == second.image_sha256 == hashlib.sha256(sent).hexdigest()


def test_the_image_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINEBENCH_IMAGE_CACHE", "off")
    assert ProviderOptions().image_cache is None


def test_null_content_in_a_finished_reply_is_a_bad_response_unless_it_reasoned() -> None:
    with OpenAIStubServer(lambda body, index: StubReply.answer(None)) as stub:
        error = failure(provider_for(stub.base_url))
        assert stub.request_count == 3  # retried
    assert (error.kind, error.retryable) == ("bad_response", True) and "no content" in error.message
    thinking = StubReply.answer(None, reasoning="The L4/L5 disc is narrowed.")
    with OpenAIStubServer(lambda body, index: thinking) as stub:
        completion = run(complete_once(provider_for(stub.base_url), chat()))
    assert (completion.text, completion.reasoning) == ("", "The L4/L5 disc is narrowed.")
