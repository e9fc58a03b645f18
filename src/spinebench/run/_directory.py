"""The run directory: append-only `predictions.jsonl`, `run.json` (how to reproduce), `scores.json`.

Every prediction is one line written with a single write and flushed, so a crash or `kill -9` loses at most
the line being written; a torn last line is cut off on the next open. The latest line for a question wins,
which is how retried errors replace their failures without rewriting the file.
"""

from __future__ import annotations

import fcntl  # POSIX: SpineBench runs on Linux and macOS
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from spinebench.errors import RunDirectoryError
from spinebench.prediction import LeanPredictions, Prediction

PREDICTIONS: Final = "predictions.jsonl"
RUN_JSON: Final = "run.json"
SCORES_JSON: Final = "scores.json"
LOCK: Final = ".lock"
JUDGE_CACHE: Final = "judge_cache.jsonl"  # the judge's replies; discarded with the answers they read


class RunDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock_fd: int | None = None

    @classmethod
    def prepare(cls, path: Path, identity: Mapping[str, Any], *, overwrite: bool = False) -> RunDirectory:
        """Creates or reopens a run directory for a configuration, and locks it until `close()`.

        Reopening with a different identity (model, parameters, prompt, benchmark, subset, seed) is refused,
        so one directory never mixes answers from two configurations, unless the directory holds no answer
        yet (a mistyped first command) or `overwrite` discards what it holds. A second eval into a locked
        directory is refused at once, naming the process that holds it.
        """
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise RunDirectoryError(
                f"{path}: cannot write the run directory ({error.strerror or error})"
            ) from error
        run_dir = cls(path)
        run_dir._lock()
        try:
            existing = run_dir.read_run_json()
            if existing is not None:
                differences = _differences(existing.get("identity", {}), dict(identity))
                if differences and not overwrite:
                    predictions = run_dir.load_predictions(with_text=False).values()
                    answered = sum(1 for prediction in predictions if not prediction.failed)
                    if answered:
                        raise RunDirectoryError(
                            f"{path / RUN_JSON}: this run directory holds {answered} answers of a different "
                            f"configuration ({'; '.join(differences)}); choose another --out, or add "
                            "--overwrite to discard them and start afresh"
                        )
                if differences or overwrite:
                    run_dir._discard_contents()
        except BaseException:
            run_dir.close()
            raise
        return run_dir

    def _lock(self) -> None:
        """Holds an advisory lock on `.lock` (with our PID in it) for as long as this object is open.

        The kernel drops the lock when its process dies, however it dies: a lock file left by a killed eval
        is stale and simply taken over.
        """
        file = self.path / LOCK
        try:
            fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunDirectoryError(f"{file}: cannot create the lock ({error.strerror or error})") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RunDirectoryError(
                f"{self.path}: another eval (PID {holder}) is writing to this run directory; wait for it "
                "to finish or stop it, or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _discard_contents(self) -> None:
        for name in (PREDICTIONS, SCORES_JSON, RUN_JSON, JUDGE_CACHE):
            (self.path / name).unlink(missing_ok=True)

    def read_run_json(self) -> dict[str, Any] | None:
        file = self.path / RUN_JSON
        if not file.exists():
            return None
        try:
            data = json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RunDirectoryError(f"{file}: not valid JSON ({error})") from error
        if not isinstance(data, dict):
            raise RunDirectoryError(f"{file}: not a SpineBench run record")
        return data

    def write_run_json(self, record: Mapping[str, Any]) -> None:
        _write_json_atomic(self.path / RUN_JSON, record)

    def write_scores(self, scores: Mapping[str, Any]) -> None:
        _write_json_atomic(self.path / SCORES_JSON, scores)

    def load_predictions(self, *, with_text: bool = True) -> Mapping[str, Prediction]:
        """The latest prediction per question. Cuts off a torn last line left by a crash.

        `with_text=False` keeps only what resuming and scoring read (letters, stage, error): no responses,
        reasoning, judge records, latencies or token counts. Memory then stays small however long the answers
        of a 65k-question run are.
        """
        file = self.path / PREDICTIONS
        latest: dict[str, Prediction] | LeanPredictions = {} if with_text else LeanPredictions()
        if not file.exists():
            return latest
        good_end = 0
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    if not raw.endswith(b"\n"):
                        raise ValueError("no line end")
                    prediction = Prediction.from_json(raw.decode(), with_text=with_text)
                except (ValueError, TypeError, UnicodeDecodeError) as error:
                    if not handle.peek(1):  # torn write at the end: the only damage a crash can do
                        break
                    raise RunDirectoryError(f"{file}: line {number} is not a prediction ({error})") from error
                if isinstance(latest, LeanPredictions):
                    latest.add(prediction)
                else:
                    latest[prediction.question_id] = prediction
                good_end += len(raw)
            size = handle.seek(0, os.SEEK_END)
        if good_end < size:
            with file.open("r+b") as handle:
                handle.truncate(good_end)
        return latest

    def append(self, prediction: Prediction) -> None:
        line = memoryview((prediction.to_json() + "\n").encode())
        try:
            if self._fd is None:
                self._fd = os.open(self.path / PREDICTIONS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            # One write call per line: a killed process leaves whole lines, or one torn last line. A write
            # cut short (a disk filling up) is finished, so that no later line follows a torn one.
            while line:
                line = line[os.write(self._fd, line) :]
        except OSError as error:  # disk full, quota: a torn last line at worst, cut off on the next open
            raise RunDirectoryError(
                f"{self.path / PREDICTIONS}: cannot append a prediction ({error.strerror or error})"
            ) from error

    def close(self) -> None:
        """Closes the predictions file and releases the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the last descriptor drops the flock
            self._lock_fd = None


def _differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found.extend(_differences(a, b, f"{prefix}{key}."))
        elif a != b:
            found.append(f"{prefix}{key} was {a!r}, now {b!r}")
    return found


def _write_json_atomic(file: Path, record: Mapping[str, Any]) -> None:
    temporary = file.with_name(file.name + ".partial")
    try:
        temporary.write_text(json.dumps(record, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
        os.replace(temporary, file)
    except OSError as error:
        raise RunDirectoryError(f"{file}: cannot write ({error.strerror or error})") from error


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
