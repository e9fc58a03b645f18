"""Model specs (`openai:<served-name>`, `hf:<path-or-id>`, `vllm:<path-or-id>`, baselines) -> providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spinebench.errors import ModelSpecError
from spinebench.models._provider import Provider
from spinebench.models._retry import RetryPolicy

SPEC_HELP = (
    "openai:<served-model-name> | hf:<path-or-hub-id> | vllm:<path-or-hub-id> "
    "| random | constant:<answer> | prior | knn[:K]"
)


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
    # Local backends (hf, vllm). "auto" dtype: bfloat16 on a GPU, float32 on the CPU (vLLM: the model's own).
    dtype: str = "auto"
    device: str = "auto"  # hf only: "auto" (CUDA when present), "cpu", "cuda", "cuda:1", "mps"
    batch_size: int = 8  # concurrent requests answered together; --concurrency should be at least this
    tensor_parallel_size: int = 1  # vllm only
    trust_remote_code: bool = False  # run the model repository's own Python code (needed by some VLMs)
    # knn only: the benchmark whose reference library (library.npz) it votes with (the runner sets it), and
    # an encoder spec replacing the one recorded in its manifest (e.g. SigLIP2 weights that have moved).
    benchmark: Path | None = None
    encoder: str | None = None


def make_provider(spec: str, options: ProviderOptions | None = None) -> Provider:
    """The provider a spec names. Heavy backends are imported only when asked for."""
    options = options or ProviderOptions()
    kind, _, argument = spec.partition(":")
    if kind == "random" and not argument:
        from spinebench.models.baselines import RandomBaseline

        return RandomBaseline(seed=options.seed)
    if kind == "prior" and not argument:
        from spinebench.models.baselines import PriorBaseline

        return PriorBaseline()
    if kind == "constant" and argument.strip():
        from spinebench.models.baselines import ConstantBaseline

        return ConstantBaseline(argument.strip())
    if kind == "knn":
        return _knn(argument, options)
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


def _knn(argument: str, options: ProviderOptions) -> Provider:
    from spinebench.models.knn import DEFAULT_K, KnnBaseline

    text = argument.strip()
    if text and not (text.isdigit() and int(text) >= 1):
        raise ModelSpecError(f"model spec knn:{argument}: K must be a whole number >= 1 (e.g. knn:10)")
    if options.benchmark is None:
        raise ModelSpecError(
            "the knn baseline answers from a benchmark's reference library; give the benchmark"
        )
    return KnnBaseline(
        options.benchmark,
        k=int(text) if text else DEFAULT_K,
        encoder_spec=options.encoder,
        device=options.device,
        batch_size=options.batch_size,
    )
