from __future__ import annotations

from spinebench.benchmark import Benchmark
from spinebench.models import GenerationParams
from spinebench.prompts import PAPER, PLAIN, build_request, render_prompt


def test_paper_prompt_has_persona_inline_options_and_final_line(sample: Benchmark) -> None:
    sdd = next(q for q in sample.iter_questions() if q.task == "SDD")
    text = render_prompt(sdd, PAPER)
    assert "board-certified spine surgeon" in text and "simulated clinical scenario" in text
    assert f"[A: {sdd.options[0]}, B: {sdd.options[1]}" in text
    assert text.endswith("My final option: [X]")
    sll = next(q for q in sample.iter_questions() if q.task == "SLL")
    assert render_prompt(sll, PAPER).endswith("My final options: [X, Y]")
    assert f"A. {sdd.options[0]}\nB. {sdd.options[1]}" in render_prompt(sdd, PLAIN)


def test_request_carries_image_after_text_and_template_hash_is_stable(sample: Benchmark) -> None:
    question = next(sample.iter_questions())
    image = sample.read_image(question)
    request = build_request(question, image, PAPER, GenerationParams(max_tokens=5))
    assert request.image == image
    assert request.params.max_tokens == 5
    assert PAPER.sha256 != PLAIN.sha256 and len(PAPER.sha256) == 64
    assert PAPER.label == "paper-v1"
