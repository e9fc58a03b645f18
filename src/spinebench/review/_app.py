"""The review web app (Starlette): server-rendered pages and plain HTML forms; no script, no network assets.

Defences, in order of a request: the Host header must name this server (so a DNS-rebinding page cannot reach
it under another name); a state-changing request must carry an Origin of this server; pages other than the
invite need a session cookie (HttpOnly, SameSite=Strict) whose reviewer exists; every form carries the
session's CSRF token. Every page is rendered with autoescaping, and a Content-Security-Policy allows only
this server's own stylesheet and images: a trace holding `<script>` shows as text and could not run anyway.
Images are served only to signed-in reviewers, only those of questions under review, by content hash.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Final
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from spinebench.benchmark import Benchmark, Question
from spinebench.report import AXES, AXIS_KEYS, SCALE
from spinebench.review._db import ReviewDatabase
from spinebench.review._invites import Session, find_session, redeem_invite, set_named
from spinebench.review._records import (
    Answer,
    Rating,
    item_ids,
    load_answers,
    load_ratings,
    load_traces,
    now,
    record_answer,
    record_rating,
    stored_settings,
)
from spinebench.review._selection import Trace, reviewer_order
from spinebench.taxonomy import LETTERS

COOKIE: Final = "spinebench_review"
_MAX_FORM: Final = 64 * 1024
_MAX_COMMENT: Final = 4000
_MAX_ANSWER_SECONDS: Final = 6 * 3600  # a page left open longer says nothing about the time to answer
_SAFE_METHODS: Final = {"GET", "HEAD"}
_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Invite links carry a token in their path: never sent to another site. (Not "no-referrer": Chromium
    # then sends "Origin: null" on form posts, which the Origin check rightly refuses.)
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_IMAGE_TYPES: Final = {".png": "image/png", ".jpg": "image/jpeg"}


@dataclass
class ReviewState:
    """What the app serves: the database, the benchmark and the questions and traces under review."""

    database: ReviewDatabase
    benchmark: Benchmark
    allowed_hosts: frozenset[str]  # Host header values ("host:port" or "host") this server answers
    seed: int = 0
    questions: dict[str, Question] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    traces: dict[str, Trace] = field(default_factory=dict)
    images: dict[str, Question] = field(default_factory=dict)  # image file name -> a question showing it

    @classmethod
    def load(
        cls, database: ReviewDatabase, benchmark: Benchmark, allowed_hosts: frozenset[str]
    ) -> ReviewState:
        items = item_ids(database)
        traces = {t.id: t for t in load_traces(database)}
        wanted = set(items) | {t.question_id for t in traces.values()}
        questions = {q.id: q for q in benchmark.iter_questions() if q.id in wanted}
        images = {q.image.rsplit("/", 1)[-1]: q for q in questions.values()}
        seed = int(str(stored_settings(database).get("seed", 0)))
        return cls(database, benchmark, allowed_hosts, seed, questions, items, traces, images)


def create_app(state: ReviewState) -> Starlette:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("spinebench.review", "templates"),
        autoescape=True,  # every template: model output and question text are always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = files("spinebench.review").joinpath("templates", "review.css").read_bytes()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(environment.get_template(name).render(**context), status_code=status)

    def message(text: str, status: int, session: Session | None = None) -> HTMLResponse:
        return page("message.html.j2", status, title="SpineBench review", message=text, session=session)

    def session_of(request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        return find_session(state.database, token) if token else None

    async def form_of(request: Request) -> dict[str, list[str]] | None:
        if (
            request.headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            return None
        body = await request.body()
        if len(body) > _MAX_FORM:
            return None
        try:
            return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            return None

    def first(form: Mapping[str, list[str]], key: str) -> str:
        values = form.get(key) or [""]
        return values[0]

    async def signed_form(request: Request) -> tuple[Session, dict[str, list[str]]] | Response:
        session = session_of(request)
        if session is None:
            return message("You are not signed in. Open your invite link.", 403)
        form = await form_of(request)
        if form is None:
            return message("The form could not be read.", 400, session)
        if not hmac.compare_digest(first(form, "csrf").encode(), session.csrf.encode()):
            return message(
                "This form is out of date or was not sent from this site; reload the page.", 403, session
            )
        return session, form

    async def home(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return message("This review server admits invited reviewers only. Open your invite link.", 403)
        reviewer = session.reviewer.id
        return page(
            "home.html.j2",
            title="Start",
            session=session,
            benchmark=state.benchmark.name,
            answered=len(load_answers(state.database, reviewer)),
            items=len(state.items),
            rated=len(load_ratings(state.database, reviewer)),
            traces=len(state.traces),
        )

    async def invite_page(request: Request) -> Response:
        token = str(request.path_params["token"])
        return page("invite.html.j2", title="Welcome", session=None, token=token)

    async def invite_redeem(request: Request) -> Response:
        form = await form_of(request)
        token = first(form, "token") if form else ""
        session_token = redeem_invite(state.database, token) if token else None
        if session_token is None:
            return message("This invite link is unknown or was already used. Ask for a new one.", 403)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, session_token, httponly=True, samesite="strict", path="/")
        return response

    async def consent(request: Request) -> Response:
        signed = await signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        set_named(state.database, session.reviewer.id, first(form, "named") == "1")
        return RedirectResponse("/", status_code=303)

    async def answer_page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return message("You are not signed in. Open your invite link.", 403)
        done = {a.question_id for a in load_answers(state.database, session.reviewer.id)}
        order = reviewer_order(state.items, state.seed, session.reviewer.pseudonym)
        remaining = [qid for qid in order if qid not in done]
        if not remaining:
            text = (
                f"All {len(order)} questions are answered. Thank you." if order else "No questions to answer."
            )
            return message(text, 200, session)
        question = state.questions[remaining[0]]
        return page(
            "answer.html.j2",
            title="Answer as a clinician",
            session=session,
            question=question,
            options=list(zip(LETTERS, question.options, strict=False)),
            image_url="/image/" + question.image.rsplit("/", 1)[-1],
            position=len(done) + 1,
            total=len(order),
            answered=len(done),
            shown=int(time.time()),
        )

    async def answer_save(request: Request) -> Response:
        signed = await signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        question = state.questions.get(first(form, "question_id"))
        if question is None or question.id not in state.items:
            return message("That question is not under review.", 400, session)
        letters = tuple(sorted(set(form.get("letter", []))))
        if first(form, "action") == "cannot_tell":
            letters = ()
        elif not letters:
            return message("Choose an option, or press 'I cannot tell'.", 400, session)
        if any(letter not in question.letters for letter in letters) or (
            not question.multiple and len(letters) > 1
        ):
            return message("That answer does not fit the question's options.", 400, session)
        seconds = _answer_seconds(first(form, "shown"), time.time())
        answer = Answer(session.reviewer.id, question.id, letters, seconds, now())
        if not record_answer(state.database, answer):
            # Answers are final: once answered, /rate may show this question's key.
            return message("This question is already answered; answers cannot be changed.", 409, session)
        return RedirectResponse("/answer", status_code=303)

    async def rate_page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return message("You are not signed in. Open your invite link.", 403)
        done = {r.trace_id for r in load_ratings(state.database, session.reviewer.id)}
        order = reviewer_order(state.traces, state.seed, session.reviewer.pseudonym)
        remaining = [tid for tid in order if tid not in done]
        if not remaining:
            text = f"All {len(order)} traces are rated. Thank you." if order else "No traces to rate."
            return message(text, 200, session)
        trace = state.traces[remaining[0]]
        question = state.questions[trace.question_id]
        answered = {a.question_id for a in load_answers(state.database, session.reviewer.id)}
        # The key is shown only where it cannot spoil this reviewer's own answers.
        show_key = question.id not in state.items or question.id in answered
        return page(
            "rate.html.j2",
            title="Rate the reasoning",
            session=session,
            trace=trace,
            question=question,
            options=list(zip(LETTERS, question.options, strict=False)),
            image_url="/image/" + question.image.rsplit("/", 1)[-1],
            show_key=show_key,
            axes=AXES,
            scale=SCALE,
            position=len(done) + 1,
            total=len(order),
            rated=len(done),
        )

    async def rate_save(request: Request) -> Response:
        signed = await signed_form(request)
        if isinstance(signed, Response):
            return signed
        session, form = signed
        trace = state.traces.get(first(form, "trace_id"))
        if trace is None:
            return message("That trace is not under review.", 400, session)
        scores: dict[str, int] = {}
        for key in AXIS_KEYS:
            value = first(form, key)
            if value not in {str(s) for s in SCALE}:
                return message("Rate every axis 1, 3 or 5.", 400, session)
            scores[key] = int(value)
        comment = first(form, "comment")[:_MAX_COMMENT]
        record_rating(state.database, Rating(session.reviewer.id, trace.id, scores, comment, now()))
        return RedirectResponse("/rate", status_code=303)

    async def image(request: Request) -> Response:
        if session_of(request) is None:
            return message("Images are shown to invited reviewers only.", 403)
        name = str(request.path_params["name"])
        question = state.images.get(name)
        if question is None:
            return message("No such image under review.", 404)
        data = state.benchmark.read_image(question)  # checked against the manifest's sha256
        extension = "." + name.rsplit(".", 1)[-1]
        return Response(data, media_type=_IMAGE_TYPES.get(extension, "application/octet-stream"))

    async def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css")

    routes = [
        Route("/", home),
        Route("/invite/{token}", invite_page),
        Route("/invite", invite_redeem, methods=["POST"]),
        Route("/consent", consent, methods=["POST"]),
        Route("/answer", answer_page),
        Route("/answer", answer_save, methods=["POST"]),
        Route("/rate", rate_page),
        Route("/rate", rate_save, methods=["POST"]),
        Route("/image/{name}", image),
        Route("/static/review.css", stylesheet),
    ]
    middleware = [Middleware(_GuardMiddleware, allowed_hosts=state.allowed_hosts)]
    return Starlette(routes=routes, middleware=middleware)


def _answer_seconds(shown: str, now_s: float) -> float | None:
    """Seconds from the page being shown to the answer; None when the form's time is not a plausible one
    (missing, in the future, or longer ago than a reviewer spends on a question: a latency of years would
    skew every mean)."""
    try:
        seconds = now_s - int(shown)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= _MAX_ANSWER_SECONDS else None


class _GuardMiddleware(BaseHTTPMiddleware):
    """Host and Origin checks before any route, security headers on every response."""

    def __init__(self, app: Any, allowed_hosts: frozenset[str]) -> None:
        super().__init__(app)
        self.allowed_hosts = allowed_hosts

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "").lower()
        if host not in self.allowed_hosts:
            response: Response = Response("unknown Host header\n", status_code=421, media_type="text/plain")
        elif request.method not in _SAFE_METHODS and request.headers.get("origin", "").lower() not in {
            # https: behind a TLS proxy the browser's origin is the proxy's.
            f"{scheme}://{allowed}"
            for scheme in ("http", "https")
            for allowed in self.allowed_hosts
        }:
            response = Response("cross-origin request refused\n", status_code=403, media_type="text/plain")
        else:
            response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers[name] = value
        return response
