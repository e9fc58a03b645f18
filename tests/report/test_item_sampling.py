from __future__ import annotations

from spinebench.benchmark import Question
from spinebench.report._items import select_items


def _question(index: int, disease: str) -> Question:
    options = ("a", "b", "c", "d", "e")
    return Question(f"q{index:03d}", "SDD", "img", "?", options, ("A",), disease, "s", "xray")


def test_a_capped_viewer_keeps_every_task_and_disease_when_the_cap_has_room() -> None:
    # One common disease and nine rare ones: rounding gives 17 + 9 x 1 = 26 for a cap of 20; the excess
    # must come off the common disease, not drop rare diseases at random.
    questions = [_question(i, "common") for i in range(100)]
    questions += [_question(100 + i, f"rare {i // 2}") for i in range(18)]
    for seed in range(10):
        chosen = select_items(questions, 20, seed)
        assert len(chosen) == 20
        assert {q.disease for q in chosen} == {q.disease for q in questions}
        assert [q.id for q in chosen] == sorted(q.id for q in chosen)  # benchmark order


def test_more_strata_than_the_cap_still_gives_the_cap() -> None:
    questions = [_question(i, f"disease {i}") for i in range(30)]
    assert len(select_items(questions, 7, 0)) == 7
