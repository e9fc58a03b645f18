from __future__ import annotations

import random
from collections import Counter

from spinebench.benchmark import Question
from spinebench.questions import select_subset
from spinebench.questions._subset import water_fill


def _question(index: int, disease: str, source: str) -> Question:
    return Question(
        id=f"sdd-{index:05d}", task="SDD", image="images/x.png", question="q", options=(disease, "Healthy"),
        answer=("A",), disease=disease, source=source, modality="xray",
    )  # fmt: skip


def _pool() -> list[Question]:
    plan = [
        ("Osteophytes", "vindr", 300),
        ("Foraminal stenosis", "vindr", 40),
        ("Foraminal stenosis", "rsna", 400),
        ("Cervical kyphosis", "csxa", 12),
        ("Healthy", "vindr", 200),
        ("Healthy", "buu", 150),
    ]
    questions: list[Question] = []
    for disease, source, count in plan:
        questions += [_question(len(questions) + i, disease, source) for i in range(count)]
    return questions


def test_water_fill_uses_rare_strata_fully_then_splits_evenly() -> None:
    given = water_fill({"a": 3, "b": 100, "c": 100, "d": 0}, 50, random.Random(0))
    assert given["a"] == 3 and given["d"] == 0
    assert {given["b"], given["c"]} == {23, 24}
    assert sum(given.values()) == 50


def test_subset_is_balanced_per_disease_then_source() -> None:
    selection = select_subset(_pool(), 200, seed=0)
    assert selection.selected == 200 and not selection.short
    assert sorted(selection.by_disease.values()) == [12, 62, 63, 63]
    assert selection.by_disease["Cervical kyphosis"] == 12
    chosen = [q for q in _pool() if q.id in selection.ids]
    cells = Counter((q.disease, q.source) for q in chosen)
    assert abs(cells["Foraminal stenosis", "vindr"] - cells["Foraminal stenosis", "rsna"]) <= 1
    assert abs(cells["Healthy", "vindr"] - cells["Healthy", "buu"]) <= 1


def test_subset_takes_everything_when_the_pool_is_small_and_says_so() -> None:
    selection = select_subset(_pool(), 5000, seed=0)
    assert selection.selected == len(_pool()) == selection.available
    assert selection.short and selection.requested == 5000


def test_subset_is_seeded() -> None:
    assert select_subset(_pool(), 100, seed=3).ids == select_subset(_pool(), 100, seed=3).ids
    assert select_subset(_pool(), 100, seed=3).ids != select_subset(_pool(), 100, seed=4).ids
    assert select_subset(list(reversed(_pool())), 100, seed=3).ids == select_subset(_pool(), 100, seed=3).ids
