"""Question wordings written for SpineBench: a seeded draw per question keeps models from keying on a phrase.

Every wording asks the same thing and none hints at the answer. Localization wordings name the finding
(`{disease}`, lower case) and ask for every affected level, since the task is multi-answer. Changing a
wording changes the benchmark: bump `WORDINGS_VERSION` (recorded in the manifest) when editing.
"""

from __future__ import annotations

from typing import Final

WORDINGS_VERSION: Final = 1

DIAGNOSIS_WORDINGS: Final[tuple[str, ...]] = (
    "Based on this spine image, which diagnosis is most likely?",
    "What is the most likely diagnosis for the spine shown in this image?",
    "Which of the following best describes the abnormality, if any, seen on this spine image?",
    "Looking at this spinal image, which condition does it most likely show?",
    "Which finding is most consistent with the appearance of the spine in this image?",
    "After reviewing this spine image, which diagnosis would you give?",
    "Which of these conditions is best supported by this spinal imaging study?",
    "What does this image of the spine most likely demonstrate?",
    "Considering the imaging features of the spine here, which diagnosis fits best?",
    "Which option is the most accurate reading of this spine image?",
)

LOCALIZATION_WORDINGS: Final[tuple[str, ...]] = (
    "At which lumbar disc levels is {disease} present in this image? Select all that apply.",
    "This image shows {disease}. Which intervertebral levels are affected? Choose every affected level.",
    "Identify all lumbar levels where {disease} can be seen on this image.",
    "Where is the {disease} located? Select each lumbar disc level involved.",
    "Which of the following levels show {disease}? More than one level may be correct.",
    "Indicate every disc level at which this image demonstrates {disease}.",
    "On this image, {disease} is present. At which levels? Select all that apply.",
    "Which lumbar intervertebral levels are involved by {disease} in this study? Choose all that apply.",
    "List the levels affected by {disease} on this spine image (one or more).",
    "At what level or levels of the lumbar spine does this image show {disease}?",
)
