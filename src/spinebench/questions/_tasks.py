"""Which tasks a build makes, and the protocol name that says so in the manifest and card.

The paper's tasks (SDD, SLL) are always built: Overall is their mean, and a benchmark without them would not
be SpineBench. Severity grading (SSG) is ours; a build that adds it is named by a protocol of its own (the
hard-negative protocol's name with `+ssg-v1`), so that a score is never compared with the paper's protocol
without saying that the benchmark differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from spinebench.errors import SpineBenchError
from spinebench.questions._protocol import PAPER_PROTOCOL
from spinebench.taxonomy import PAPER_TASKS, TASKS, Task

GRADING_SUFFIX: Final = "+ssg-v1"
GRADING_PROTOCOL: Final = PAPER_PROTOCOL + GRADING_SUFFIX  # the paper's hard negatives, with SSG beside


class TaskSelectionError(SpineBenchError, ValueError):
    """A task list names an unknown task or leaves out one of the paper's tasks."""


def parse_tasks(tasks: Iterable[str] | str) -> tuple[Task, ...]:
    """The tasks of a build in taxonomy order, from names ("SDD,SLL,SSG" or a sequence; any case)."""
    names = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    wanted = {name.strip().upper() for name in names if name.strip()}
    unknown = sorted(wanted - set(TASKS))
    if unknown:
        raise TaskSelectionError(f"unknown task {', '.join(unknown)} (expected some of {', '.join(TASKS)})")
    missing = [task for task in PAPER_TASKS if task not in wanted]
    if missing:
        raise TaskSelectionError(
            f"the tasks must include the paper's {', '.join(PAPER_TASKS)} (missing {', '.join(missing)}); "
            "add SSG beside them, e.g. --tasks SDD,SLL,SSG"
        )
    return tuple(task for task in TASKS if task in wanted)


def build_protocol(tasks: Iterable[Task], hard_negatives: str = PAPER_PROTOCOL) -> str:
    """The hard-negative protocol's name (`spinebench-paper-v1` or a variant) for the paper's tasks alone;
    with `+ssg-v1` once SSG is added."""
    return hard_negatives if tuple(tasks) == PAPER_TASKS else hard_negatives + GRADING_SUFFIX


def hard_negative_protocol(protocol: str) -> str:
    """The hard-negative part of a build's protocol name (without the task suffix)."""
    return protocol.removesuffix(GRADING_SUFFIX)
