"""The SpineBench paper's published scores (ACM MM 2025), shown beside new runs as a labelled reference.

They were measured on SpineBench-Sub (1,758 SDD + 1,000 SLL questions) with the paper's prompt and answer
extraction; a run is comparable only when made on the same subset with the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ReferenceScore:
    """Published percentages; None where the paper gives no number."""

    model: str
    sdd: float | None
    sll: float | None
    overall: float | None


REFERENCE_SOURCE: Final = "SpineBench paper (ACM MM 2025), SpineBench-Sub, % accuracy"
PUBLISHED: Final[tuple[ReferenceScore, ...]] = (
    ReferenceScore("Gemini-2.5-pro", 32.37, 9.35, 20.86),
    ReferenceScore("GPT-4o", 23.64, 9.69, 16.67),
    ReferenceScore("Claude-3.5-sonnet", 23.58, 12.64, 18.11),
    ReferenceScore("Qwen2.5-VL-7B", 18.26, 12.14, 15.20),
    ReferenceScore("MedGemma-4B", 12.15, 5.30, 8.73),
    ReferenceScore("Random", 20.00, None, None),
)
