"""The shared stratified item set, each reviewer's seeded order, and the blind traces."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from spinebench.benchmark import open_sample
from spinebench.review import select_items, select_traces
from spinebench.review._selection import reviewer_order


def test_item_set_is_stratified_and_independent_of_order() -> None:
    questions = list(open_sample().iter_questions())
    items = select_items(questions, 1, seed=0)
    strata = Counter(f"{q.task}/{q.disease}" for q in items)
    assert set(strata.values()) == {1} and len(strata) == len({f"{q.task}/{q.disease}" for q in questions})
    assert select_items(list(reversed(questions)), 1, seed=0) == items
    assert select_items(questions, 1, seed=1) != items


def test_reviewers_get_their_own_stable_order() -> None:
    ids = [q.id for q in open_sample().iter_questions()]
    ada, bo = reviewer_order(ids, 0, "reviewer-1"), reviewer_order(ids, 0, "reviewer-2")
    assert sorted(ada) == sorted(bo) == sorted(ids) and ada != bo
    assert reviewer_order(list(reversed(ids)), 0, "reviewer-1") == ada


def test_traces_are_blind_and_per_task(hostile_run: Path) -> None:
    questions = list(open_sample().iter_questions())
    traces = select_traces([hostile_run], questions, 2, seed=0)
    tasks = Counter(next(q.task for q in questions if q.id == t.question_id) for t in traces)
    assert tasks == {"SDD": 2, "SLL": 2}
    assert all("random" not in t.id and len(t.id) == 20 for t in traces)
    assert select_traces([hostile_run], questions, 2, seed=0) == traces
