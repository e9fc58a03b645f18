from __future__ import annotations

import asyncio
from collections import Counter

from spinebench.models import ChatRequest, make_provider
from spinebench.models.baselines import PriorBaseline

LEVELS = ("L3/L4", "L1/L2", "L5/S1", "L2/L3", "L4/L5")
DISEASES = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")


def _ask(spec: str, request: ChatRequest) -> str:
    return asyncio.run(make_provider(spec).complete(request)).text


def _request(qid: str, *, multiple: bool = False) -> ChatRequest:
    return ChatRequest(qid, "text", None, LEVELS if multiple else DISEASES, multiple)


def test_random_is_seeded_per_question_and_roughly_uniform() -> None:
    answers = [_ask("random", _request(f"q{i}")) for i in range(500)]
    assert answers == [_ask("random", _request(f"q{i}")) for i in range(500)]
    counts = Counter(answers)
    assert set(counts) == {f"My final option: [{letter}]" for letter in "ABCDE"}
    assert min(counts.values()) > 60
    multi = _ask("random", _request("q1", multiple=True))
    assert multi.startswith("My final options: [")


def test_constant_answers_by_text_or_letter_and_admits_when_absent() -> None:
    assert _ask("constant:Healthy", _request("q")) == "My final option: [B]"
    assert _ask("constant:healthy", _request("q")) == "My final option: [B]"
    assert _ask("constant:C", _request("q")) == "My final option: [C]"
    assert _ask("constant:L4/L5,L1/L2", _request("q", multiple=True)) == "My final options: [B, E]"
    assert "None of the options" in _ask("constant:Healthy", _request("q", multiple=True))


def test_prior_answers_the_most_frequent_answer_text_per_task() -> None:
    prior = PriorBaseline()
    prior.fit(
        [
            (False, ("A",), ("Healthy",)),
            (False, ("C",), ("Healthy",)),
            (False, ("A",), ("Osteophytes",)),
            (True, ("A", "B"), ("L4/L5", "L5/S1")),
        ]
    )
    assert asyncio.run(prior.complete(_request("q"))).text == "My final option: [B]"
    assert asyncio.run(prior.complete(_request("q", multiple=True))).text == "My final options: [C, E]"
    assert prior.describe()["diagnosis_answer"] == ["Healthy"]
