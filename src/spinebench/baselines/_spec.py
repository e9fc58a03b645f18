"""Baseline specs (`random`, `prior`, `constant:<answer>`, `knn[:K]`) -> baselines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spinebench.baselines._baseline import Baseline
from spinebench.errors import ModelSpecError

BASELINE_HELP: Final = "random | constant:<answer> | prior | knn[:K]"


@dataclass(frozen=True, slots=True)
class BaselineOptions:
    """Settings the baselines take: the random draw's seed, and knn's encoder (by default the one recorded in
    the benchmark's manifest; give a spec when, e.g., SigLIP2 weights have moved)."""

    seed: int = 0
    encoder: str | None = None
    device: str = "cpu"
    batch_size: int = 32


def is_baseline_spec(spec: str) -> bool:
    return spec.partition(":")[0] in {"random", "prior", "constant", "knn"}


def make_baseline(spec: str, options: BaselineOptions | None = None) -> Baseline:
    """The baseline a spec names; knn's encoder is loaded only when it is fitted on a benchmark."""
    options = options or BaselineOptions()
    kind, _, argument = spec.partition(":")
    if kind == "random" and not argument:
        from spinebench.baselines._chance import RandomBaseline

        return RandomBaseline(seed=options.seed)
    if kind == "prior" and not argument:
        from spinebench.baselines._chance import PriorBaseline

        return PriorBaseline()
    if kind == "constant" and argument.strip():
        from spinebench.baselines._chance import ConstantBaseline

        return ConstantBaseline(argument.strip())
    if kind == "knn":
        from spinebench.baselines._knn import DEFAULT_K, KnnBaseline

        text = argument.strip()
        if text and not (text.isdigit() and int(text) >= 1):
            raise ModelSpecError(f"model spec knn:{argument}: K must be a whole number >= 1 (e.g. knn:10)")
        return KnnBaseline(
            k=int(text) if text else DEFAULT_K,
            encoder_spec=options.encoder,
            device=options.device,
            batch_size=options.batch_size,
        )
    raise ModelSpecError(f"baseline spec {spec!r} is not understood; expected {BASELINE_HELP}")
