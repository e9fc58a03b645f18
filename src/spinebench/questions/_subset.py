"""SpineBench-Sub: a seeded subset balanced per disease, then per source within a disease.

The paper picked its 1,758 SDD + 1,000 SLL questions for clarity, contrast and label balance; clarity and
contrast need a reader, so we keep the balance. Allocation is water-filling (what a round-robin over the
strata gives): every disease gets an equal share; a disease with fewer questions gives all it has and its
unused share goes to the others, so rare classes are used fully before common ones are capped. Within a
disease the share is split over its sources the same way, and within a (disease, source) cell the questions
are drawn by a generator seeded with the build seed and the cell, so a cell's draw does not depend on the
rest of the catalogue.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from spinebench.benchmark import Question

SUBSET_NAME = "sub"
DEFAULT_SUB_SDD = 1758
DEFAULT_SUB_SLL = 1000


@dataclass(frozen=True, slots=True)
class SubsetSelection:
    """The questions of one task chosen for the subset, with the counts the card reports.

    `by_disease` and `by_source` count the chosen questions per stratum: disease and source by default, the
    grade and the condition for severity grading (see `select_subset`'s `strata`).
    """

    task: str
    requested: int
    available: int
    ids: frozenset[str]
    by_disease: dict[str, int]
    by_source: dict[str, int]

    @property
    def selected(self) -> int:
        return len(self.ids)

    @property
    def short(self) -> bool:
        """Whether the catalogue held fewer questions than requested (all of them were taken)."""
        return self.selected < self.requested


def water_fill(capacities: Mapping[str, int], total: int, rng: random.Random) -> dict[str, int]:
    """Splits `total` as evenly as the capacities allow; leftover units go to strata in a seeded order."""
    given = dict.fromkeys(capacities, 0)
    active = sorted(key for key, capacity in capacities.items() if capacity > 0)
    remaining = min(total, sum(capacities.values()))
    while remaining > 0 and active:
        share = remaining // len(active)
        if share == 0:
            # Every active stratum has received the same so far: a seeded pick keeps it fair.
            for key in rng.sample(active, remaining):
                given[key] += 1
            break
        for key in active:
            take = min(share, capacities[key] - given[key])
            given[key] += take
            remaining -= take
        active = [key for key in active if given[key] < capacities[key]]
    return given


def _disease_and_source(question: Question) -> tuple[str, str]:
    return question.disease, question.source


def select_subset(
    questions: Sequence[Question],
    target: int,
    *,
    seed: int,
    strata: Callable[[Question], tuple[str, str]] = _disease_and_source,
) -> SubsetSelection:
    """Picks up to `target` questions (all of one task), balanced per disease, then per source.

    `strata` names the two balancing keys of a question, outer first (default: disease, then source).
    """
    if target < 0:
        raise ValueError(f"a subset size cannot be negative ({target})")
    tasks = {q.task for q in questions}
    if len(tasks) > 1:
        raise ValueError(f"a subset is chosen per task; got questions of {sorted(tasks)}")
    task = next(iter(tasks), "")
    cells: dict[tuple[str, str], list[str]] = {}
    for question in questions:
        cells.setdefault(strata(question), []).append(question.id)
    per_disease: Counter[str] = Counter()
    for (disease, _source), ids in cells.items():
        per_disease[disease] += len(ids)
    disease_share = water_fill(per_disease, target, random.Random(f"{seed}:sub:{task}"))
    chosen: list[str] = []
    by_disease: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for disease, share in sorted(disease_share.items()):
        sources = {source: len(ids) for (d, source), ids in cells.items() if d == disease}
        source_share = water_fill(sources, share, random.Random(f"{seed}:sub:{task}:{disease}"))
        for source, count in sorted(source_share.items()):
            if count == 0:
                continue
            ids = sorted(cells[disease, source])
            random.Random(f"{seed}:sub:{task}:{disease}:{source}").shuffle(ids)
            chosen.extend(ids[:count])
            by_disease[disease] += count
            by_source[source] += count
    return SubsetSelection(
        task=task,
        requested=target,
        available=len(questions),
        ids=frozenset(chosen),
        by_disease=dict(sorted(by_disease.items())),
        by_source=dict(sorted(by_source.items())),
    )
