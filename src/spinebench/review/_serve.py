"""Setting up and running the review server (uvicorn). Loopback by default; another interface must be asked
for, is warned about, and needs invites to exist first (an open server with nobody invited is a mistake)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spinebench.benchmark import Benchmark
from spinebench.review._db import ReviewDatabase, ReviewDatabaseError
from spinebench.review._invites import has_invites
from spinebench.review._records import store_setup, stored_settings
from spinebench.review._selection import select_items, select_traces

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    per_stratum: int = 5  # questions per task and disease in the shared item set
    traces_per_task: int = 10  # traces rated per run and task (the paper rated 10)
    seed: int = 0
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allowed_hosts: tuple[str, ...] = field(default=())  # extra host names reviewers will type
    subset: str | None = None  # draw the item set from a flagged subset only (e.g. 'sub')


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_host_headers(settings: ReviewSettings) -> frozenset[str]:
    """The Host header values this server answers: each name with `:port`, and without it, as a TLS
    proxy on 443 forwards `Host: review.example.org` (an unknown name is still refused: DNS rebinding)."""
    names = {settings.host, *settings.allowed_hosts}
    if is_loopback(settings.host):
        names |= {"127.0.0.1", "localhost", "::1"}
    headers: set[str] = set()
    for name in names:
        name = name.strip().lower()
        if ":" in name and not name.startswith("["):  # an IPv6 literal goes in brackets in a Host header
            name = f"[{name}]"
        headers |= {name, f"{name}:{settings.port}"}
    return frozenset(headers)


def setup_review(
    database_path: Path, benchmark: Benchmark, runs: Sequence[Path], settings: ReviewSettings
) -> ReviewDatabase:
    """Opens (and migrates) the database, fixes the item set on first use and adds the runs' traces."""
    database = ReviewDatabase.open(database_path)
    stored = stored_settings(database)
    seed = int(str(stored.get("seed", settings.seed)))
    per_stratum = int(str(stored.get("per_stratum", settings.per_stratum)))
    questions = list(benchmark.iter_questions())
    pool = questions if settings.subset is None else list(benchmark.iter_questions(settings.subset))
    items = select_items(pool, per_stratum, seed)
    traces = select_traces(runs, questions, settings.traces_per_task, seed)
    fixed = {"seed": seed, "per_stratum": per_stratum, "subset": stored.get("subset", settings.subset)}
    store_setup(database, benchmark, items, traces, fixed)
    return database


def prepare_review(
    database_path: Path, benchmark: Benchmark, runs: Sequence[Path], settings: ReviewSettings
) -> Any:
    """`setup_review`, then the web app's state. Starlette is imported here, not at package import (it is
    the optional `review` extra)."""
    from spinebench.review._app import ReviewState

    database = setup_review(database_path, benchmark, runs, settings)
    return ReviewState.load(database, benchmark, allowed_host_headers(settings))


def check_exposure(database_path: Path, settings: ReviewSettings) -> str | None:
    """A warning to print for a non-loopback host (None on loopback); refuses one without invites."""
    if is_loopback(settings.host):
        return None
    if not database_path.exists() or not has_invites(ReviewDatabase.open(database_path)):
        raise ReviewDatabaseError(
            f"{database_path}: no reviewer is invited yet; run `spinebench review invite NAME --db "
            f"{database_path}` before serving on {settings.host}"
        )
    return (
        f"serving on {settings.host}:{settings.port}, reachable from other machines; plain HTTP: use it only "
        "on a network you trust, or behind a TLS proxy"
    )


def serve_review(state: Any, settings: ReviewSettings) -> None:
    import uvicorn

    from spinebench.review._app import create_app

    uvicorn.run(create_app(state), host=settings.host, port=settings.port, log_level="warning")
