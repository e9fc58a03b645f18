"""The review app's defences and pages, through Starlette's test client (no browser)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="pip install 'spinebench[review]'")
from starlette.testclient import TestClient

from spinebench.benchmark import open_sample
from spinebench.review import ReviewDatabase, ReviewSettings, create_invite, load_answers, prepare_review
from spinebench.review._app import create_app

ORIGIN = {"origin": "http://127.0.0.1:8765"}


@pytest.fixture
def setup(tmp_path: Path, hostile_run: Path) -> tuple[TestClient, ReviewDatabase, str]:
    state = prepare_review(tmp_path / "r.sqlite", open_sample(), [hostile_run], ReviewSettings())
    token = create_invite(state.database, "Dr <b>Bob</b>")
    return TestClient(create_app(state), base_url="http://127.0.0.1:8765"), state.database, token


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post("/invite", data={"token": token}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303
    page = client.get("/answer").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_without_a_session_nothing_is_shown(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, _, _ = setup
    assert client.get("/").status_code == 403
    assert client.get("/answer").status_code == 403
    sample = open_sample()
    image = next(sample.iter_questions()).image.rsplit("/", 1)[-1]
    assert client.get(f"/image/{image}").status_code == 403


def test_invite_works_once_and_images_need_a_session(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, _, token = setup
    _sign_in(client, token)
    again = TestClient(client.app, base_url="http://127.0.0.1:8765")
    assert again.post("/invite", data={"token": token}, headers=ORIGIN).status_code == 403
    question = next(open_sample().iter_questions())
    name = question.image.rsplit("/", 1)[-1]
    served = client.get(f"/image/{name}")
    assert served.status_code == 200 and served.content == open_sample().read_image(question)
    assert client.get("/image/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/image/..%2Fmanifest.json").status_code == 404


def test_host_origin_and_csrf_are_checked(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, database, token = setup
    csrf = _sign_in(client, token)
    rebound = TestClient(client.app, base_url="http://evil.example:8765")
    assert rebound.get("/").status_code == 421  # DNS rebinding: another Host name is refused
    question_id = re.search(r'name="question_id" value="([^"]+)"', client.get("/answer").text)
    assert question_id
    form = {"csrf": csrf, "question_id": question_id.group(1), "letter": "A", "shown": "0"}
    assert client.post("/answer", data=form).status_code == 403  # no Origin
    assert client.post("/answer", data=form, headers={"origin": "http://evil.example"}).status_code == 403
    forged = client.post("/answer", data=form | {"csrf": "forged"}, headers=ORIGIN)
    assert forged.status_code == 403
    assert load_answers(database) == []
    saved = client.post("/answer", data=form, headers=ORIGIN, follow_redirects=False)
    assert saved.status_code == 303
    assert [a.letters for a in load_answers(database)] == [("A",)]
    headers = client.get("/").headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "set-cookie" not in headers


def test_answers_are_validated_against_the_question(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, database, token = setup
    csrf = _sign_in(client, token)
    page = client.get("/answer").text
    question_id = re.search(r'name="question_id" value="([^"]+)"', page)
    assert question_id and "Reference answer" not in page  # the key is hidden
    base = {"csrf": csrf, "question_id": question_id.group(1), "shown": "0"}
    assert client.post("/answer", data=base | {"letter": "Z"}, headers=ORIGIN).status_code == 400
    assert client.post("/answer", data=base, headers=ORIGIN).status_code == 400  # no option chosen
    assert (
        client.post("/answer", data=base | {"question_id": "nope", "letter": "A"}, headers=ORIGIN).status_code
        == 400
    )
    client.post("/answer", data=base | {"action": "cannot_tell"}, headers=ORIGIN)
    assert [a.letters for a in load_answers(database)] == [()]


def test_hostile_trace_and_names_are_escaped(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, _, token = setup
    _sign_in(client, token)
    page = client.get("/rate").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "<script" not in page and "<img src=x" not in page
    assert "random" not in page.lower()  # blind: the model is not named
    assert "Dr &lt;b&gt;Bob&lt;/b&gt;" in client.get("/").text


def test_several_reviewers_at_once_each_keep_their_answers(tmp_path: Path, hostile_run: Path) -> None:
    import threading

    state = prepare_review(tmp_path / "r.sqlite", open_sample(), [], ReviewSettings())
    tokens = [create_invite(state.database, name) for name in ("Ada", "Bo", "Cy")]
    application = create_app(state)
    errors: list[BaseException] = []

    def review(token: str) -> None:
        try:
            client = TestClient(application, base_url="http://127.0.0.1:8765")
            csrf = _sign_in(client, token)
            for _ in range(5):
                page = client.get("/answer").text
                question_id = re.search(r'name="question_id" value="([^"]+)"', page)
                assert question_id
                form = {"csrf": csrf, "question_id": question_id.group(1), "letter": "A", "shown": "0"}
                assert (
                    client.post("/answer", data=form, headers=ORIGIN, follow_redirects=False).status_code
                    == 303
                )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=review, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    answers = load_answers(state.database)
    assert sorted({a.reviewer_id for a in answers}) == [1, 2, 3] and len(answers) == 15
    orders = {r: [a.question_id for a in answers if a.reviewer_id == r] for r in (1, 2, 3)}
    assert len({tuple(sorted(o)) for o in orders.values()}) > 1  # each reviewer has their own seeded order


def test_a_session_older_than_its_lifetime_is_refused(setup: tuple[TestClient, ReviewDatabase, str]) -> None:
    client, database, token = setup
    _sign_in(client, token)
    assert client.get("/").status_code == 200
    with database.transaction() as connection:
        connection.execute("UPDATE sessions SET created = '2020-01-01T00:00:00+00:00'")
    assert client.get("/").status_code == 403


def test_item_set_can_come_from_a_subset(tmp_path: Path) -> None:
    sample = open_sample()
    state = prepare_review(tmp_path / "r.sqlite", sample, [], ReviewSettings(subset="sub"))
    in_sub = {q.id for q in sample.iter_questions("sub")}
    assert state.items and set(state.items) <= in_sub


def test_behind_a_tls_proxy_the_allowed_host_works_without_port_and_over_https(
    tmp_path: Path, hostile_run: Path
) -> None:
    settings = ReviewSettings(allowed_hosts=("review.example.org",))
    state = prepare_review(tmp_path / "r.sqlite", open_sample(), [], settings)
    token = create_invite(state.database, "Ada")
    proxied = TestClient(create_app(state), base_url="https://review.example.org")
    assert proxied.get("/").status_code == 403  # reached (not signed in), not 421
    https = {"origin": "https://review.example.org"}
    signed_in = proxied.post("/invite", data={"token": token}, headers=https, follow_redirects=False)
    assert signed_in.status_code == 303
    for base_url in ("http://[::1]:8765", "http://localhost:8765", "http://review.example.org:8765"):
        assert TestClient(create_app(state), base_url=base_url).get("/").status_code == 403
    for base_url in (
        "https://evil.example",
        "http://evil.example:8765",
        "http://review.example.org.evil:8765",
    ):
        assert TestClient(create_app(state), base_url=base_url).get("/").status_code == 421
    evil = proxied.post("/consent", data={"named": "1"}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403


def test_an_answer_is_final_once_given_and_its_time_is_bounded(
    setup: tuple[TestClient, ReviewDatabase, str],
) -> None:
    client, database, token = setup
    csrf = _sign_in(client, token)
    question_id = re.search(r'name="question_id" value="([^"]+)"', client.get("/answer").text)
    assert question_id
    form = {"csrf": csrf, "question_id": question_id.group(1), "letter": "A", "shown": "0"}
    assert client.post("/answer", data=form, headers=ORIGIN, follow_redirects=False).status_code == 303
    [answer] = load_answers(database)
    assert answer.letters == ("A",) and answer.seconds is None  # shown=0: not a latency of 56 years
    changed = client.post(
        "/answer", data=form | {"letter": "B", "shown": str(int(time.time()))}, headers=ORIGIN
    )
    assert changed.status_code == 409 and "already answered" in changed.text
    assert load_answers(database) == [answer]
    next_id = re.search(r'name="question_id" value="([^"]+)"', client.get("/answer").text)
    assert next_id and next_id.group(1) != answer.question_id
    form = form | {"question_id": next_id.group(1), "shown": str(int(time.time()) - 5)}
    client.post("/answer", data=form, headers=ORIGIN)
    seconds = {a.question_id: a.seconds for a in load_answers(database)}[next_id.group(1)]
    assert seconds is not None and 4 <= seconds <= 60
