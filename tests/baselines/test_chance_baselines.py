from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from spinebench.baselines import PriorBaseline, make_baseline
from spinebench.benchmark import SAMPLE_PATH, Benchmark, Question
from spinebench.run import EvalSettings, evaluate

LEVELS = ("L3/L4", "L1/L2", "L5/S1", "L2/L3", "L4/L5")
DISEASES = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")


def _question(qid: str, *, multiple: bool = False, answer: tuple[str, ...] = ("A",)) -> Question:
    return Question(
        id=qid,
        task="SLL" if multiple else "SDD",
        image="x.png",
        question="text",
        options=LEVELS if multiple else DISEASES,
        answer=answer,
        disease="Spinal canal stenosis" if multiple else DISEASES[0],
        source="synthetic",
        modality="xray",
    )


def _ask(spec: str, question: Question) -> tuple[str, ...]:
    return asyncio.run(make_baseline(spec).answer(question, None)).letters


def test_random_is_seeded_per_question_and_roughly_uniform() -> None:
    answers = [_ask("random", _question(f"q{i}")) for i in range(500)]
    assert answers == [_ask("random", _question(f"q{i}")) for i in range(500)]
    counts = Counter(answers)
    assert set(counts) == {(letter,) for letter in "ABCDE"}
    assert min(counts.values()) > 60
    multi = _ask("random", _question("q1", multiple=True))
    assert multi and set(multi) <= set("ABCDE") and list(multi) == sorted(multi)


def test_constant_answers_by_text_or_letter_and_admits_when_absent() -> None:
    assert _ask("constant:Healthy", _question("q")) == ("B",)
    assert _ask("constant:healthy", _question("q")) == ("B",)
    assert _ask("constant:C", _question("q")) == ("C",)
    assert _ask("constant:L4/L5,L1/L2", _question("q", multiple=True)) == ("B", "E")
    absent = asyncio.run(make_baseline("constant:Healthy").answer(_question("q", multiple=True), None))
    assert absent.letters == () and "None of the options" in absent.reason


def test_prior_answers_the_most_frequent_answer_text_per_task() -> None:
    prior = PriorBaseline()
    fitted = [
        _question("a", answer=("B",)),  # Healthy
        _question("b", answer=("B",)),  # Healthy
        _question("c", answer=("A",)),  # Osteophytes
        _question("d", multiple=True, answer=("C", "E")),  # L5/S1, L4/L5
    ]
    prior.fit(Benchmark.open(SAMPLE_PATH), fitted)
    assert asyncio.run(prior.answer(_question("q"), None)).letters == ("B",)
    assert asyncio.run(prior.answer(_question("q", multiple=True), None)).letters == ("C", "E")
    assert prior.describe()["diagnosis_answer"] == ["Healthy"]


def test_baselines_answer_in_the_papers_final_line_through_the_runner(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = evaluate(Benchmark.open(SAMPLE_PATH), out, EvalSettings(model="constant:A"))
    line = (out / "predictions.jsonl").read_text().splitlines()[0]
    assert "My final option: [A]" in line or "My final options: [A]" in line
    assert result.scores["counts"]["errors"] == 0
