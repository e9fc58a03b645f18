"""Turns SpineBench errors into one red line on stderr and a non-zero exit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from spinebench.display import terminal_safe
from spinebench.errors import SpineBenchError

P = ParamSpec("P")
R = TypeVar("R")
EXIT_USER_ERROR = 2
stderr = Console(stderr=True)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SpineBenchError as error:
            # The message may quote a file or a server: no control character of theirs reaches the terminal.
            message = terminal_safe(str(error))
            stderr.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from error

    return wrapper
