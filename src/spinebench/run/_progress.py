"""Progress of a run in the terminal: done/total, rate, ETA and errors so far."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from spinebench.prediction import Prediction


class Reporter(Protocol):
    def start(self, total: int, done: int) -> None: ...

    def advance(self, prediction: Prediction) -> None: ...

    def stop(self) -> None: ...


class SilentReporter:
    def start(self, total: int, done: int) -> None:
        return None

    def advance(self, prediction: Prediction) -> None:
        return None

    def stop(self) -> None:
        return None


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:6.1f} q/s" if speed else "     - q/s", style="cyan")


class RichReporter:
    """A rich progress bar; errors are counted in red beside it."""

    def __init__(self, description: str, console: Console | None = None) -> None:
        self._description = description
        self._errors = 0
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("[red]{task.fields[errors]} errors"),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, total: int, done: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=total, completed=done, errors=0)

    def advance(self, prediction: Prediction) -> None:
        assert self._task is not None
        if prediction.failed:
            self._errors += 1
            self._progress.update(self._task, advance=1, errors=self._errors)
        else:
            self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
