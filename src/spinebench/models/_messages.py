"""What every backend sends for a ChatRequest: the chat messages, and the image inside them.

One builder serves every provider so that a question reaches a model in the same words, order and pixels
whichever backend runs it: an optional system message, then one user message whose content is the question
text followed by the image (the paper's order). Only the form of the image part differs between backends: a
URL for OpenAI-style chat APIs (HTTP servers, and vLLM's in-process `LLM.chat`), the decoded image itself for
transformers' chat templates.
"""

from __future__ import annotations

import io
from typing import Any, Literal

from PIL import Image

from spinebench.models._provider import ChatRequest

ImageStyle = Literal["image_url", "image"]
_JPEG_MAGIC = b"\xff\xd8\xff"


def chat_messages(
    request: ChatRequest, image: object | None = None, *, style: ImageStyle = "image_url"
) -> list[dict[str, Any]]:
    """The request as chat messages: `[system?, user: [text part, image part?]]`.

    `image` is what the backend puts in the image part: a URL (or a placeholder for one) with style
    `image_url`, a PIL image with style `image`. It must be given exactly when the request has an image, so
    that no backend can drop the image by accident.
    """
    if (image is None) != (request.image is None):
        state = "has an image" if request.image is not None else "has no image"
        raise ValueError(
            f"request {request.id} {state}, but the backend gave {'none' if image is None else 'one'}"
        )
    content: list[dict[str, Any]] = [{"type": "text", "text": request.text}]
    if image is not None:
        if style == "image_url":
            content.append({"type": "image_url", "image_url": {"url": image}})
        else:
            content.append({"type": "image", "image": image})
    messages: list[dict[str, Any]] = []
    if request.system:
        # Multimodal chat templates of transformers (LLaVA's, for one) loop over a message's content parts, so
        # a plain string would be read character by character; OpenAI-style APIs take the string as it is.
        system: str | list[dict[str, Any]] = request.system
        if style == "image":
            system = [{"type": "text", "text": request.system}]
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": content})
    return messages


def image_as_sent(image: bytes, max_side: int, quality: int) -> bytes:
    """The JPEG every backend gives the model: the original when it is already a small RGB or grey JPEG,
    else re-encoded by `reencoded_jpeg`. Raises OSError when PIL cannot read the image."""
    return image if is_sendable_jpeg(image, max_side) else reencoded_jpeg(image, max_side, quality)


def is_sendable_jpeg(image: bytes, max_side: int) -> bool:
    """An RGB or grey JPEG no larger than `max_side` can go as it is (PIL reads only the header here)."""
    if not image.startswith(_JPEG_MAGIC):
        return False
    with Image.open(io.BytesIO(image)) as img:
        return img.format == "JPEG" and img.mode in ("RGB", "L") and max(img.size) <= max_side


def reencoded_jpeg(image: bytes, max_side: int, quality: int) -> bytes:
    """Any image PIL reads -> RGB, longest side at most `max_side`, JPEG at `quality`."""
    with Image.open(io.BytesIO(image)) as img:
        img.draft("RGB", (max_side, max_side))  # a large JPEG decodes at a reduced scale: much faster
        rgb = img.convert("RGB")
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
