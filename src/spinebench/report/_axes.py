"""The four axes clinicians rate a reasoning trace on, each scored 1, 3 or 5 (as in the SpineBench paper).

The wording is ours. Each axis has anchors for the three scores, shown to reviewers and given to the LLM judge
(`spinebench rubric`), so that humans and the judge rate against the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SCALE: Final = (1, 3, 5)


@dataclass(frozen=True, slots=True)
class Axis:
    key: str
    title: str
    question: str
    anchors: tuple[str, str, str]  # what 1, 3 and 5 mean


AXES: Final = (
    Axis(
        "findings",
        "Image findings",
        "Does the reasoning describe what this image actually shows?",
        (
            "Describes findings that are absent, or ignores the image.",
            "Some findings are right, others are missing or wrong.",
            "The findings named are present and the relevant ones are all named.",
        ),
    ),
    Axis(
        "knowledge",
        "Medical knowledge",
        "Are the medical facts and criteria it uses correct?",
        (
            "Contains clear medical errors.",
            "Mostly correct, with imprecise or partly wrong statements.",
            "Correct and precise throughout.",
        ),
    ),
    Axis(
        "logic",
        "Logical coherence",
        "Do the steps follow from each other and lead to the stated answer?",
        (
            "Steps contradict each other or the answer does not follow.",
            "Mostly coherent, with gaps or leaps.",
            "Each step follows and the answer is the conclusion of the steps.",
        ),
    ),
    Axis(
        "usefulness",
        "Clinical usefulness",
        "Would this reasoning help a clinician reading the image?",
        (
            "Misleading or of no use.",
            "Somewhat useful, needs correction.",
            "Useful as it stands.",
        ),
    ),
)
AXIS_KEYS: Final = tuple(axis.key for axis in AXES)
