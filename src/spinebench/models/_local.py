"""What the in-process backends (hf, vllm) share: extra and spec checks, and the micro-batcher.

Concurrent requests from the runner's workers are gathered into batches by `MicroBatcher`; generation runs
in a worker thread so the event loop keeps reading images and writing answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from spinebench.errors import ModelSpecError, SpineBenchError
from spinebench.models._provider import ChatRequest, Completion, ProviderError

DTYPES = ("auto", "float32", "float16", "bfloat16")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
Result = Completion | ProviderError
_Pending = tuple[ChatRequest, asyncio.Future[Completion]]


def require_extra(backend: str, modules: Sequence[str], extra: str) -> None:
    """A clear ModelSpecError when a backend's optional packages are missing (found without importing)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelSpecError(
            f"the {backend} backend needs {' and '.join(missing)}, not installed here: "
            f"pip install 'spinebench[{extra}]'"
        )


def local_model_source(backend: str, argument: str) -> str:
    """The directory (absolute) or hub id a `backend:<argument>` spec names.

    Something that exists on disk, or looks like a path, must be a directory holding a model (its
    config.json); anything else of the form `name` or `org/name` is taken as a hub id and fetched on load.
    """
    path = Path(argument).expanduser()
    looks_like_path = argument.startswith(("/", "./", "../", "~", ".\\")) or not _HUB_ID.match(argument)
    if path.exists() or looks_like_path:
        if not path.exists():
            raise ModelSpecError(f"{backend}: no model at {path}: no such file or directory")
        if not path.is_dir() or not (path / "config.json").is_file():
            raise ModelSpecError(
                f"{backend}: {path} holds no model (no config.json); give a directory written by "
                "save_pretrained, or a hub id such as Qwen/Qwen2.5-VL-7B-Instruct"
            )
        return str(path.resolve())
    return argument


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


class MicroBatcher:
    """Gathers concurrent `submit` calls into batches of up to `batch_size` for a blocking `run_batch`.

    One batch runs at a time, in a worker thread; requests that arrive meanwhile form the next one, so a
    runner with `--concurrency` of at least the batch size keeps the model busy. `run_batch` returns one
    Completion or ProviderError per request. If it raises, each request of the batch is tried alone, so one
    bad request does not fail the others (and a smaller batch may fit in memory); `failure` turns what a
    lone request raised into the ProviderError it gets. SpineBench errors (a model that cannot load) are
    fatal and reach every waiting request.
    """

    def __init__(
        self,
        run_batch: Callable[[list[ChatRequest]], list[Result]],
        batch_size: int,
        failure: Callable[[Exception], ProviderError],
        *,
        linger: float = 0.002,
    ) -> None:
        self._run_batch = run_batch
        self.batch_size = max(1, batch_size)
        self._failure = failure
        self._linger = linger
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches: list[int] = []  # sizes of the batches run, for tests and tuning

    async def submit(self, request: ChatRequest) -> Completion:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._queue is None:
            # A new event loop (another asyncio.run with this provider): the old queue was bound to the last.
            self._loop, self._queue = loop, asyncio.Queue()
            self._task = loop.create_task(self._consume(self._queue))
        future: asyncio.Future[Completion] = loop.create_future()
        self._queue.put_nowait((request, future))
        return await future

    async def aclose(self) -> None:
        task, queue = self._task, self._queue
        self._loop = self._queue = self._task = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while queue is not None and not queue.empty():
            queue.get_nowait()[1].cancel()

    async def _consume(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            self._take_waiting(queue, batch)
            if len(batch) < self.batch_size:
                # Workers handed their answers a moment ago are about to submit again: wait for them.
                await asyncio.sleep(self._linger)
                self._take_waiting(queue, batch)
            live = [(request, future) for request, future in batch if not future.cancelled()]
            if not live:
                continue
            self.batches.append(len(live))
            try:
                results = await asyncio.to_thread(self._run_split, [request for request, _ in live])
                if len(results) != len(live):
                    raise RuntimeError(f"{len(results)} answers to a batch of {len(live)} requests")
            except Exception as error:  # fatal (SpineBenchError) or a bug of ours: every request hears of it
                for _, future in live:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, ProviderError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _take_waiting(self, queue: asyncio.Queue[_Pending], batch: list[_Pending]) -> None:
        while len(batch) < self.batch_size and not queue.empty():
            batch.append(queue.get_nowait())

    def _run_split(self, requests: list[ChatRequest]) -> list[Result]:
        try:
            return self._run_batch(requests)
        except SpineBenchError:
            raise
        except Exception as error:
            if len(requests) == 1:
                return [self._failure(error)]
            return [result for request in requests for result in self._run_split([request])]
