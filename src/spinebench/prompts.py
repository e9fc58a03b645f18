"""Prompt templates, versioned: a template's hash goes into run.json so a score names the exact wording.

`paper` follows the SpineBench protocol (a spine surgeon persona in a simulated clinical scenario, options as
`[A: text, B: text, ...]`, an exact final line); `plain` asks for the letters only. The wording is ours.
The same builder serves every backend, so a question gives the same messages whichever model answers it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

from spinebench.benchmark import Question
from spinebench.models import ChatRequest, GenerationParams

_MODALITY_PHRASES: Final = {"xray": "spine radiograph", "mri": "spine MRI slice"}


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """User-message templates per task; fields are str.format templates over {question}, {options},
    {image_kind}."""

    name: str
    version: int
    system: str | None
    diagnosis: str
    localization: str
    option_style: str  # "inline": [A: x, B: y]; "lines": one "A. x" per line

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.name}-v{self.version}"


PAPER: Final = PromptTemplate(
    name="paper",
    version=1,
    system=None,
    diagnosis=(
        "You are a board-certified spine surgeon. In this simulated clinical scenario, a patient has been "
        "referred to your clinic with spinal symptoms, and you are reviewing the attached {image_kind} "
        "before the consultation.\n\n"
        "Question: {question}\n"
        "Options: {options}\n\n"
        "Reason step by step about what the image shows, then choose the single best option. "
        "End your reply with exactly one final line in this form, where X is the letter of your choice:\n"
        "My final option: [X]"
    ),
    localization=(
        "You are a board-certified spine surgeon. In this simulated clinical scenario, a patient has been "
        "referred to your clinic with spinal symptoms, and you are reviewing the attached {image_kind} "
        "before the consultation.\n\n"
        "Question: {question}\n"
        "Options: {options}\n\n"
        "Reason step by step about what the image shows at each level, then choose every option that "
        "applies (one or more). End your reply with exactly one final line in this form, listing the "
        "letters of all your choices separated by commas:\n"
        "My final options: [X, Y]"
    ),
    option_style="inline",
)

PLAIN: Final = PromptTemplate(
    name="plain",
    version=1,
    system=None,
    diagnosis="{question}\n{options}\nAnswer with the letter of the correct option.",
    localization=(
        "{question}\n{options}\nAnswer with the letters of all correct options, separated by commas."
    ),
    option_style="lines",
)

TEMPLATES: Final[dict[str, PromptTemplate]] = {t.name: t for t in (PAPER, PLAIN)}


def format_options(options: tuple[str, ...], style: str) -> str:
    letters = [chr(ord("A") + index) for index in range(len(options))]
    if style == "inline":
        return (
            "[" + ", ".join(f"{letter}: {text}" for letter, text in zip(letters, options, strict=True)) + "]"
        )
    return "\n".join(f"{letter}. {text}" for letter, text in zip(letters, options, strict=True))


def render_prompt(question: Question, template: PromptTemplate) -> str:
    body = template.localization if question.multiple else template.diagnosis
    return body.format(
        question=question.question,
        options=format_options(question.options, template.option_style),
        image_kind=_MODALITY_PHRASES.get(question.modality, "spine image"),
    )


def answer_line(letters: Sequence[str], *, multiple: bool) -> str:
    """The paper's exact final line for these letters: what the built-in baselines reply with."""
    chosen = ", ".join(letters)
    return f"My final options: [{chosen}]" if multiple else f"My final option: [{chosen}]"


def build_request(
    question: Question, image: bytes | None, template: PromptTemplate, params: GenerationParams
) -> ChatRequest:
    """The chat request every backend receives for a question: template text, then the image."""
    return ChatRequest(
        id=question.id,
        text=render_prompt(question, template),
        image=image,
        system=template.system,
        params=params,
    )
