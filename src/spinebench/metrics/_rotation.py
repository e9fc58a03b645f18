"""Circular evaluation's rotated questions and their prediction ids."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Final, NamedTuple

from spinebench.benchmark import Question
from spinebench.taxonomy import LETTERS

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    pass


ROTATION_MARK: Final = "@r"
_ROTATION_ID: Final = re.compile(r"^(?P<question>.+)@r(?P<k>[1-9][0-9]*)$")


def rotation_id(question_id: str, k: int) -> str:
    """The prediction id of rotation k of a question (rotation 0 is the question's own id)."""
    return question_id if k == 0 else f"{question_id}{ROTATION_MARK}{k}"


class RotationId(NamedTuple):
    question_id: str
    rotation: int


def split_rotation_id(prediction_id: str) -> RotationId:
    """The question id and rotation of a prediction id; plain ids are rotation 0."""
    match = _ROTATION_ID.match(prediction_id)
    return RotationId(match["question"], int(match["k"])) if match else RotationId(prediction_id, 0)


def rotate(question: Question, k: int) -> Question:
    """The question with its options rotated left by k (options[k:] + options[:k]) and answers remapped.

    The option at position i moves to position (i - k) mod n, so with five options and k = 1 the answer "B"
    becomes "A" and "A" becomes "E". Rotation 0 is the question itself.
    """
    n = len(question.options)
    if not 0 <= k < n:
        raise ValueError(f"question {question.id}: rotation {k} is not in 0..{n - 1}")
    if k == 0:
        return question
    answer = tuple(sorted(LETTERS[(LETTERS.index(letter) - k) % n] for letter in question.answer))
    options = question.options[k:] + question.options[:k]
    return replace(question, id=rotation_id(question.id, k), options=options, answer=answer)


def rotations(question: Question) -> list[Question]:
    """Every rotation of a question's options, rotation 0 (the question itself) first."""
    return [rotate(question, k) for k in range(len(question.options))]


def unrotate_letter(letter: str, k: int, options: int) -> str:
    """The original letter of the option shown as `letter` in rotation k."""
    return LETTERS[(LETTERS.index(letter) + k) % options]
