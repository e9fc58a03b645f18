"""Clinicians in the loop: a review app for human answers and blind ratings of model reasoning.

The web app (`_app`, `_serve`) needs the optional extra `spinebench[review]` (Starlette, uvicorn) and is
imported only when served; storage, export, agreement statistics and the LLM rubric need nothing extra.
"""

from spinebench.review._db import SCHEMA_VERSION, ReviewDatabase, ReviewDatabaseError
from spinebench.review._export import RATINGS_CSV, ExportResult, export_reviews
from spinebench.review._invites import Reviewer, create_invite, list_reviewers
from spinebench.review._records import (
    Answer,
    Rating,
    item_ids,
    load_answers,
    load_ratings,
    load_traces,
    record_answer,
    record_rating,
)
from spinebench.review._rubric import RUBRIC_CSV, RubricResult, open_run_benchmark, parse_rubric, rate_run
from spinebench.review._selection import Trace, select_items, select_traces
from spinebench.review._serve import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ReviewSettings,
    check_exposure,
    prepare_review,
    serve_review,
    setup_review,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "RATINGS_CSV",
    "RUBRIC_CSV",
    "SCHEMA_VERSION",
    "Answer",
    "ExportResult",
    "Rating",
    "ReviewDatabase",
    "ReviewDatabaseError",
    "ReviewSettings",
    "Reviewer",
    "RubricResult",
    "Trace",
    "check_exposure",
    "create_invite",
    "export_reviews",
    "item_ids",
    "list_reviewers",
    "load_answers",
    "load_ratings",
    "load_traces",
    "open_run_benchmark",
    "parse_rubric",
    "prepare_review",
    "rate_run",
    "record_answer",
    "record_rating",
    "select_items",
    "select_traces",
    "serve_review",
    "setup_review",
]
