"""Local vision-language models through transformers (`hf:<path-or-hub-id>`), batched on one device.

torch and transformers are imported when the model is first needed (or `load()` is called), never at import
or construction, so `spinebench` works without them; constructing the provider only checks that they are
installed and that a local path holds a model. Concurrent requests are gathered into batches by
`MicroBatcher`; generation runs in a worker thread so the event loop keeps reading images and writing answers.
The batcher and the spec checks shared with the vLLM provider live in `_local`.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from PIL import Image

from spinebench.errors import ModelSpecError, SpineBenchError
from spinebench.models._local import (
    DTYPES,
    MicroBatcher,
    Result,
    local_model_source,
    package_version,
    require_extra,
)
from spinebench.models._messages import chat_messages, image_as_sent
from spinebench.models._provider import ChatRequest, Completion, GenerationParams, ProviderError
from spinebench.models._spec import ProviderOptions


def transformers_conversation(
    request: ChatRequest, max_side: int, quality: int
) -> tuple[list[dict[str, Any]], Image.Image | None]:
    """The chat messages for a processor's chat template, with the image decoded from the JPEG every
    backend sends (`image_as_sent`), so a local model sees the pixels a server would.

    An unreadable image is a ProviderError, as with a server.
    """
    image: Image.Image | None = None
    if request.image is not None:
        try:
            with Image.open(io.BytesIO(image_as_sent(request.image, max_side, quality))) as img:
                image = img.convert("RGB")
        except OSError as error:  # PIL's UnidentifiedImageError and truncated files
            raise ProviderError(
                "client", f"image of {request.id} cannot be read: {error}", retryable=False
            ) from error
    return chat_messages(request, image, style="image"), image


@dataclass(slots=True)
class _Loaded:
    torch: Any
    processor: Any
    tokenizer: Any
    model: Any
    device: str
    eos_ids: frozenset[int]
    pad_id: int | None


class HFProvider:
    """`AutoProcessor` + image-text-to-text model from a directory or the hub; greedy unless temperature > 0.

    Batches are left-padded; only the new tokens are decoded. Sampled answers (temperature > 0) repeat for
    the same seed only when the batches are the same (use `batch_size` 1 for that); greedy ones do not
    depend on the seed.
    """

    def __init__(self, model: str, options: ProviderOptions | None = None) -> None:
        self.model = model
        self.options = options or ProviderOptions()
        require_extra("hf", ("torch", "transformers"), "hf")
        if self.options.dtype not in DTYPES:
            raise ModelSpecError(f"hf: dtype {self.options.dtype!r} is not one of {', '.join(DTYPES)}")
        self.source = local_model_source("hf", model)
        self._loaded: _Loaded | None = None
        self._load_error: SpineBenchError | None = None
        self._load_lock = threading.Lock()
        self._images: OrderedDict[bytes, Image.Image] = OrderedDict()
        self._batcher = MicroBatcher(self._run_batch, self.options.batch_size, self._failure)

    @property
    def spec(self) -> str:
        return f"hf:{self.model}"

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def describe(self) -> dict[str, Any]:
        device, dtype = self._placement()
        return {
            "provider": "hf",
            "model": self.model,
            "source": self.source,
            "dtype": dtype,
            "device": device,
            "batch_size": self._batcher.batch_size,
            "image_max_side": self.options.image_max_side,
            "image_quality": self.options.image_quality,
            "trust_remote_code": self.options.trust_remote_code,
            "transformers": package_version("transformers"),
            "torch": package_version("torch"),
        }

    def load(self) -> None:
        """Loads the processor and model now (otherwise the first request does). Idempotent."""
        self._ensure_loaded()

    async def complete(self, request: ChatRequest) -> Completion:
        return await self._batcher.submit(request)

    async def aclose(self) -> None:
        """Stops the batcher and lets the model go (GPU memory is freed); using the provider again reloads."""
        await self._batcher.aclose()
        loaded, self._loaded = self._loaded, None
        self._images.clear()
        if loaded is not None and str(loaded.device).startswith("cuda"):
            del loaded
            importlib.import_module("torch").cuda.empty_cache()

    def _placement(self) -> tuple[str, str]:
        """(device, dtype) with "auto" resolved: bfloat16 (else float16) on CUDA, float32 elsewhere."""
        torch = importlib.import_module("torch")
        device = self.options.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = self.options.dtype
        if dtype == "auto":
            if device.startswith("cuda") and torch.cuda.is_available():
                dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                dtype = "float32"
        return device, dtype

    def _ensure_loaded(self) -> _Loaded:
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            if self._load_error is not None:  # fail every later batch at once, with the same message
                raise self._load_error
            try:
                self._loaded = self._load()
            except SpineBenchError as error:
                self._load_error = error
                raise
            return self._loaded

    def _load(self) -> _Loaded:
        try:
            torch = importlib.import_module("torch")
            transformers = importlib.import_module("transformers")
        except ImportError as error:
            raise ModelSpecError(
                f"hf: cannot import torch/transformers ({error}): pip install 'spinebench[hf]'"
            ) from error
        device, dtype = self._placement()
        remote = self.options.trust_remote_code
        try:
            processor = transformers.AutoProcessor.from_pretrained(self.source, trust_remote_code=remote)
        except Exception as error:
            raise ModelSpecError(
                f"hf: cannot load a processor from {self.source}: {_brief(error)}"
            ) from error
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is None or not hasattr(processor, "image_processor"):
            raise ModelSpecError(
                f"hf: {self.source} has no image processor and tokenizer; is it a vision-language model?"
            )
        if not (getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)):
            raise ModelSpecError(
                f"hf: {self.source} has no chat template; SpineBench needs an instruction-tuned model"
            )
        # Decoder-only generation appends after the prompt, so shorter prompts are padded on the left.
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        # transformers 5 dropped AutoModelForVision2Seq; older releases lack AutoModelForImageTextToText.
        auto = (
            getattr(transformers, "AutoModelForImageTextToText", None) or transformers.AutoModelForVision2Seq
        )
        major_minor = tuple(int(part) for part in transformers.__version__.split(".")[:2])
        dtype_key = "dtype" if major_minor >= (4, 56) else "torch_dtype"
        try:
            model = auto.from_pretrained(
                self.source, trust_remote_code=remote, **{dtype_key: getattr(torch, dtype)}
            )
        except Exception as error:
            raise ModelSpecError(
                f"hf: cannot load an image-text-to-text model from {self.source}: {_brief(error)}"
            ) from error
        try:
            model.to(device)
        except Exception as error:
            raise ModelSpecError(
                f"hf: cannot place {self.source} on device {device!r}: {_brief(error)}"
            ) from error
        model.eval()
        eos = model.generation_config.eos_token_id
        eos = tokenizer.eos_token_id if eos is None else eos
        eos_ids = frozenset(eos if isinstance(eos, list) else [] if eos is None else [eos])
        return _Loaded(torch, processor, tokenizer, model, device, eos_ids, tokenizer.pad_token_id)

    def _failure(self, error: Exception) -> ProviderError:
        message = f"hf: generation failed: {_brief(error)}"
        if "out of memory" in str(error).lower():
            message += " (lower --batch-size)"
        return ProviderError("server", message, retryable=False)

    def _conversation(self, request: ChatRequest) -> tuple[list[dict[str, Any]], Image.Image | None]:
        key = request.image
        if key is not None and key in self._images:  # several questions share one image, often back to back
            self._images.move_to_end(key)
            return chat_messages(request, self._images[key], style="image"), self._images[key]
        messages, image = transformers_conversation(
            request, self.options.image_max_side, self.options.image_quality
        )
        if key is not None and image is not None:
            self._images[key] = image
            if len(self._images) > 16:
                self._images.popitem(last=False)
        return messages, image

    def _run_batch(self, requests: list[ChatRequest]) -> list[Result]:
        loaded = self._ensure_loaded()
        results: list[Result | None] = [None] * len(requests)
        groups: defaultdict[GenerationParams, list[tuple[int, list[dict[str, Any]], Image.Image | None]]]
        groups = defaultdict(list)
        for index, request in enumerate(requests):
            try:
                messages, image = self._conversation(request)
            except ProviderError as error:
                results[index] = error
                continue
            groups[request.params].append((index, messages, image))
        for params, group in groups.items():  # one generate call per set of sampling parameters
            images = [image for _, _, image in group if image is not None]
            completions = _generate(loaded, [messages for _, messages, _ in group], images, params)
            for (index, _, _), completion in zip(group, completions, strict=True):
                results[index] = completion
        return [result for result in results if result is not None]


def _generate(
    loaded: _Loaded,
    conversations: list[list[dict[str, Any]]],
    images: list[Image.Image],
    params: GenerationParams,
) -> list[Completion]:
    torch, processor, tokenizer, model = loaded.torch, loaded.processor, loaded.tokenizer, loaded.model
    prompts = [
        processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        for conversation in conversations
    ]
    call: dict[str, Any] = {"text": prompts, "padding": True, "return_tensors": "pt"}
    if images:
        call["images"] = images
    bos = tokenizer.bos_token
    if bos and all(prompt.startswith(bos) for prompt in prompts):
        call["add_special_tokens"] = False  # the template wrote BOS already; a second one changes the answers
    inputs = processor(**call).to(loaded.device, dtype=model.dtype)  # casts only the float tensors (pixels)
    generation: dict[str, Any] = {"max_new_tokens": params.max_tokens, "pad_token_id": loaded.pad_id}
    if params.temperature > 0:
        generation |= {"do_sample": True, "temperature": params.temperature}
        if params.top_p is not None:
            generation["top_p"] = params.top_p
    else:
        # Greedy whatever the model's generation_config says (many ship do_sample=True with a temperature).
        generation |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    if params.seed is not None:
        torch.manual_seed(params.seed)
    with torch.inference_mode():
        output = model.generate(**inputs, **generation)
    prompt_length = inputs["input_ids"].shape[1]
    completions: list[Completion] = []
    for row, mask in zip(output[:, prompt_length:].tolist(), inputs["attention_mask"].tolist(), strict=True):
        # Rows that stopped early are padded to the longest; keep up to and including the first EOS.
        stop = next((at for at, token in enumerate(row) if token in loaded.eos_ids), None)
        length = len(row) if stop is None else stop + 1
        completions.append(
            Completion(
                text=tokenizer.decode(row[:length], skip_special_tokens=True),
                input_tokens=int(sum(mask)),
                output_tokens=length,
                finish_reason="length" if stop is None else "stop",
            )
        )
    return completions


def _brief(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__
