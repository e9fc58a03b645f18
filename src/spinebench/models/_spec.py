"""Model specs (`openai:<served-name>`, `random`, `constant:<answer>`, `prior`) -> providers."""

from __future__ import annotations

from dataclasses import dataclass, field

from spinebench.errors import ModelSpecError
from spinebench.models._provider import Provider
from spinebench.models._retry import RetryPolicy

SPEC_HELP = "openai:<served-model-name> | random | constant:<answer> | prior"


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
    if kind == "openai" and argument.strip():
        from spinebench.models.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(argument.strip(), options)
    raise ModelSpecError(f"model spec {spec!r} is not understood; expected {SPEC_HELP}")
