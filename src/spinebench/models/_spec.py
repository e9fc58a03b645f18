"""Model specs (`openai:<served-name>`, `hf:<path-or-id>`, `vllm:<path-or-id>`) -> providers.

The built-in baselines are not models: they live on the task side (`spinebench.baselines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spinebench.errors import ModelSpecError
from spinebench.models._image_cache import default_image_cache
from spinebench.models._provider import Provider
from spinebench.models._retry import RetryPolicy

SPEC_HELP = "openai:<served-model-name> | hf:<path-or-hub-id> | vllm:<path-or-hub-id>"


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Settings shared by providers; each takes what applies to it."""

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seed: int = 0
    image_max_side: int = 1024
    image_quality: int = 90
    # Images converted for sending, kept across runs (see models/_image_cache.py); None: convert every time.
    image_cache: Path | None = field(default_factory=default_image_cache)
    # Local backends (hf, vllm). "auto" dtype: bfloat16 on a GPU, float32 on the CPU (vLLM: the model's own).
    dtype: str = "auto"
    device: str = "auto"  # hf only: "auto" (CUDA when present), "cpu", "cuda", "cuda:1", "mps"
    batch_size: int = 8  # concurrent requests answered together; --concurrency should be at least this
    tensor_parallel_size: int = 1  # vllm only
    trust_remote_code: bool = False  # run the model repository's own Python code (needed by some VLMs)


def make_provider(spec: str, options: ProviderOptions | None = None) -> Provider:
    """The provider a spec names. Heavy backends are imported only when asked for."""
    options = options or ProviderOptions()
    kind, _, argument = spec.partition(":")
    if kind == "openai" and argument.strip():
        from spinebench.models.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(argument.strip(), options)
    if kind == "hf" and argument.strip():
        from spinebench.models.hf import HFProvider

        return HFProvider(argument.strip(), options)
    if kind == "vllm" and argument.strip():
        from spinebench.models.vllm_offline import VLLMProvider

        return VLLMProvider(argument.strip(), options)
    raise ModelSpecError(f"model spec {spec!r} is not understood; expected {SPEC_HELP}")
