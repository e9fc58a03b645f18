"""One builder of chat messages for every backend: the same question reaches each model in the same words."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
from typing import Any

import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.models import ChatRequest, GenerationParams, ProviderOptions
from spinebench.models._messages import chat_messages, image_as_sent
from spinebench.models.hf import transformers_conversation
from spinebench.models.openai_compat import OpenAICompatProvider
from spinebench.models.vllm_offline import vllm_request
from spinebench.prompts import PAPER, PLAIN, build_request
from spinebench.testing import OpenAIStubServer

IMAGE_MARK = "<the image>"


def image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def chat(*, system: str | None = None, image: bytes | None = b"jpeg") -> ChatRequest:
    return ChatRequest(id="q1", text="Which disease?", image=image, system=system)


def test_user_text_then_image_and_system_first() -> None:
    assert chat_messages(chat(), "URL") == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Which disease?"},
                {"type": "image_url", "image_url": {"url": "URL"}},
            ],
        }
    ]
    with_system = chat_messages(chat(system="Be brief."), "URL")
    assert with_system[0] == {"role": "system", "content": "Be brief."}
    assert with_system[1]["role"] == "user"


def test_transformers_style_puts_the_image_itself_and_parts_everywhere() -> None:
    marker = object()
    system, user = chat_messages(chat(system="Be brief."), marker, style="image")
    assert system == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert user["content"][1] == {"type": "image", "image": marker}


def test_text_only_request_has_only_a_text_part() -> None:
    (user,) = chat_messages(chat(image=None))
    assert user["content"] == [{"type": "text", "text": "Which disease?"}]


def test_a_backend_cannot_drop_or_invent_the_image() -> None:
    with pytest.raises(ValueError, match="has an image"):
        chat_messages(chat())
    with pytest.raises(ValueError, match="has no image"):
        chat_messages(chat(image=None), "URL")


def test_image_as_sent_keeps_small_jpegs_and_reencodes_the_rest() -> None:
    small = image_bytes("JPEG", (64, 48))
    assert image_as_sent(small, 1024, 90) is small
    png = image_as_sent(image_bytes("PNG", (300, 150)), 100, 90)
    with Image.open(io.BytesIO(png)) as img:
        assert (img.format, img.size) == ("JPEG", (100, 50))
    with pytest.raises(OSError):
        image_as_sent(b"not an image", 1024, 90)


# Identical prompts across providers.


def _shape(messages: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Roles and text parts in order, each image part replaced by a mark."""
    shaped = []
    for message in messages:
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        shaped.append(
            (
                message["role"],
                [("text", p["text"]) if p["type"] == "text" else ("image", IMAGE_MARK) for p in parts],
            )
        )
    return shaped


def _openai_messages(request: ChatRequest) -> dict[str, Any]:
    with OpenAIStubServer() as server:
        provider = OpenAICompatProvider("stub", ProviderOptions(base_url=server.base_url))

        async def once() -> None:
            try:
                await provider.complete(request)
            finally:
                await provider.aclose()

        asyncio.run(once())
        return server.requests[-1].body


def _data_url_bytes(url: str) -> bytes:
    prefix, _, data = url.partition(",")
    assert prefix == "data:image/jpeg;base64"
    return base64.b64decode(data)


@pytest.mark.parametrize("template", [PAPER, dataclasses.replace(PLAIN, system="You are a spine surgeon.")])
def test_every_backend_gets_the_same_messages_for_a_question(template: Any) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    questions = list(bench.iter_questions())
    for question in (next(q for q in questions if not q.multiple), next(q for q in questions if q.multiple)):
        request = build_request(
            question, bench.read_image(question), template, GenerationParams(max_tokens=9)
        )
        body = _openai_messages(request)
        hf_messages, hf_image = transformers_conversation(request, 1024, 90)
        vllm = vllm_request(request, 1024, 90)

        expected = [("user", [("text", request.text), ("image", IMAGE_MARK)])]
        if template.system:
            expected.insert(0, ("system", [("text", template.system)]))
        assert _shape(body["messages"]) == _shape(hf_messages) == _shape(vllm.conversation) == expected

        # The pixels agree too: the server's JPEG, vLLM's JPEG and the image decoded for transformers.
        (openai_url,) = [
            p["image_url"]["url"] for p in body["messages"][-1]["content"] if p["type"] == "image_url"
        ]
        vllm_url = vllm.conversation[-1]["content"][1]["image_url"]["url"]
        assert _data_url_bytes(openai_url) == _data_url_bytes(vllm_url)
        with Image.open(io.BytesIO(_data_url_bytes(vllm_url))) as sent:
            assert hf_image is not None and sent.size == hf_image.size
            assert sent.convert("RGB").tobytes() == hf_image.tobytes()
        assert (body["max_tokens"], vllm.sampling["max_tokens"]) == (9, 9)
