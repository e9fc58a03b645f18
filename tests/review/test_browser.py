"""The review app in headless Chromium: a reviewer answers three questions and rates one trace; the server is
killed (SIGKILL) between answers and nothing is lost."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="pip install 'spinebench[review]'")
pytest.importorskip("uvicorn", reason="pip install 'spinebench[review]'")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, db: Path, run: Path, port: int) -> None:
        self.db, self.run, self.port = db, run, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "spinebench",
            "review",
            "serve",
            "--runs",
            str(self.run),
            "--db",
            str(self.db),
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (
                self.process.stderr.read().decode() if self.process.stderr else ""
            )
            try:
                urllib.request.urlopen(self.url + "/static/review.css", timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the review server did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)  # no shutdown handler runs: only committed rows survive
        self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def server(tmp_path: Path, hostile_run: Path) -> Iterator[Server]:
    started = Server(tmp_path / "review.sqlite", hostile_run, _free_port())
    started.start()
    yield started
    if started.process is not None:
        started.kill()


def _invite(db: Path, url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "spinebench", "review", "invite", "Dr Ada", "--db", str(db), "--url", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def _rows(db: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT * FROM {table}").fetchall()


def test_reviewer_answers_and_rates_in_chromium_and_a_killed_server_loses_nothing(
    server: Server, tmp_path: Path
) -> None:
    link = _invite(server.db, server.url)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(link)
        page.click("text=Start reviewing")
        assert "signed in as Dr Ada" in page.inner_text("header")
        assert "0 of 38 answered" in page.inner_text("main")

        seen = []
        for number in range(3):
            page.goto(server.url + "/answer")
            assert f"Question {number + 1} of 38" in page.inner_text(".progress")
            assert page.evaluate("document.querySelector('.case img').naturalWidth") > 0  # image served
            seen.append(page.get_attribute("input[name=question_id]", "value"))
            page.locator("input[name=letter]").first.check()
            page.click("text=Save answer")
            page.wait_for_load_state()
            assert len(_rows(server.db, "answers")) == number + 1  # committed before the next page
            if number < 2:
                server.kill()
                server.start()  # same cookie, same database: the reviewer resumes
        assert len(set(seen)) == 3

        page.goto(server.url + "/rate")
        trace = page.inner_text("pre.trace")
        assert "<script>window.__pwned = 1</script>" in trace and "<img src=x" in trace  # shown as text
        assert page.locator("main script, main img[src=x]").count() == 0
        assert page.evaluate("window.__pwned === undefined")
        for axis, score in (("findings", "1"), ("knowledge", "3"), ("logic", "5"), ("usefulness", "3")):
            page.check(f"input[name={axis}][value='{score}']")
        page.fill("textarea[name=comment]", "Ignores the image </textarea><b>x</b>")
        page.click("text=Save rating")
        page.wait_for_load_state()
        browser.close()

    server.kill()
    answers = _rows(server.db, "answers")
    assert sorted(str(row[1]) for row in answers) == sorted(str(s) for s in seen)
    ratings = _rows(server.db, "ratings")
    assert len(ratings) == 1 and ratings[0][2:6] == (1, 3, 5, 3)
    assert ratings[0][6] == "Ignores the image </textarea><b>x</b>"
