"""Paraphrase evaluation: wordings from the question pool, their prediction ids, and consistency."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from spinebench.benchmark import Question, open_sample
from spinebench.metrics import (
    max_paraphrases,
    paraphrase_id,
    paraphrase_scores,
    paraphrases,
    split_paraphrase_id,
)
from spinebench.models import ChatRequest, Completion
from spinebench.prediction import Prediction
from spinebench.questions import DIAGNOSIS_WORDINGS, LOCALIZATION_WORDINGS
from spinebench.run import EvalSettings, EvalSettingsError, evaluate
from spinebench.taxonomy import LETTERS

OPTIONS = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")


def _sdd(wording: str, qid: str = "q1") -> Question:
    return Question(qid, "SDD", "img", wording, OPTIONS, ("C",), "Spondylolisthesis", "synthetic", "xray")


def test_wordings_follow_the_question_own_one_in_the_pool() -> None:
    asked = paraphrases(_sdd(DIAGNOSIS_WORDINGS[9]), 3)
    assert [q.question for q in asked] == [DIAGNOSIS_WORDINGS[i] for i in (9, 0, 1)]
    assert [q.id for q in asked] == ["q1", "q1@p1", "q1@p2"]
    assert all(q.options == OPTIONS and q.answer == ("C",) for q in asked)
    assert split_paraphrase_id("q1@p2") == ("q1", 2) and split_paraphrase_id("q1") == ("q1", 0)
    assert paraphrase_id("q1", 0) == "q1"


def test_localization_wordings_name_the_finding_and_a_foreign_wording_adds_the_pool() -> None:
    sll = Question(
        "s1",
        "SLL",
        "img",
        LOCALIZATION_WORDINGS[0].format(disease="osteophytes"),
        ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"),
        ("A",),
        "Osteophytes",
        "synthetic",
        "xray",
    )
    second = paraphrases(sll, 2)[1]
    assert second.question == LOCALIZATION_WORDINGS[1].format(disease="osteophytes")
    imported = _sdd("What is shown?")
    assert max_paraphrases(imported) == len(DIAGNOSIS_WORDINGS) + 1
    assert len({q.question for q in paraphrases(imported, 11)}) == 11
    with pytest.raises(ValueError, match="pool has 10 wordings"):
        paraphrases(_sdd(DIAGNOSIS_WORDINGS[0]), 11)


def test_consistency_counts_questions_answered_alike_in_every_wording() -> None:
    questions = [_sdd(DIAGNOSIS_WORDINGS[0], f"q{n}") for n in range(4)]
    answers = {"q0": "CCC", "q1": "AAA", "q2": "CAC", "q3": "CC"}  # q3's third wording is not answered
    predictions = {}
    for question in questions:
        for j, letter in enumerate(answers[question.id]):
            qid = paraphrase_id(question.id, j)
            predictions[qid] = Prediction(qid, "", letters=(letter,), stage="strict")
    scores = paraphrase_scores(questions, predictions, 3)["SDD"]
    assert scores["questions"] == 4 and scores["questions_complete"] == 3
    assert scores["consistency"]["value"] == pytest.approx(2 / 3)
    assert scores["consistent_correct"]["value"] == pytest.approx(1 / 3)
    assert [w["value"] for w in scores["accuracy_by_wording"]] == pytest.approx([0.75, 0.5, 2 / 3], abs=1e-6)
    assert [w["scored"] for w in scores["accuracy_by_wording"]] == [4, 4, 3]


class WordingSensitive:
    """A fake backend whose answer depends on the whole prompt text, so a new wording may change it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @property
    def spec(self) -> str:
        return "openai:wording"

    def describe(self) -> dict[str, Any]:
        return {"provider": "wording"}

    async def complete(self, request: ChatRequest) -> Completion:
        self.asked.append(request.id)
        letter = LETTERS[hashlib.sha256(request.text.encode()).digest()[0] % 5]
        return Completion(f"My final option: [{letter}]")

    async def aclose(self) -> None:
        return None


def test_a_paraphrase_run_asks_k_wordings_reports_them_and_resumes(tmp_path: Path) -> None:
    sample = open_sample()
    settings = EvalSettings(model="openai:wording", paraphrases=3)
    provider = WordingSensitive()
    result = evaluate(sample, tmp_path / "run", settings, provider=provider)
    assert len(provider.asked) == 3 * len(sample) and result.scores["status"] == "complete"
    para = result.scores["paraphrase"]
    assert set(para) == {"SDD", "SLL"}
    assert len(para["SDD"]["accuracy_by_wording"]) == 3
    assert 0 <= para["SDD"]["consistency"]["value"] < 1  # a wording-sensitive answerer is not consistent
    again = WordingSensitive()
    assert evaluate(sample, tmp_path / "run", settings, provider=again).answered_now == 0 and not again.asked

    prior = evaluate(sample, tmp_path / "prior", EvalSettings(model="prior", paraphrases=2))
    assert prior.scores["paraphrase"]["SDD"]["consistency"]["value"] == 1.0  # it never reads the wording

    with pytest.raises(EvalSettingsError, match="more wordings than the question pool holds"):
        evaluate(sample, tmp_path / "too-many", EvalSettings(model="prior", paraphrases=12))


def test_a_severity_question_has_no_paraphrase_pool() -> None:
    graded = Question(
        "g1",
        "SSG",
        "img",
        "How severe is the finding?",
        ("Normal/Mild", "Moderate", "Severe"),
        ("B",),
        "Spinal canal stenosis",
        "synthetic",
        "mri",
        level="L4/L5",
    )
    assert max_paraphrases(graded) == 1 and paraphrases(graded, 1) == [graded]
    with pytest.raises(ValueError, match="pool has 1 wordings"):
        paraphrases(graded, 2)
