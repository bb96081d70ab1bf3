"""A lazily started, reusable pool of worker processes for signature work.

Signing and verifying cost ~50-150 us per record of pure CPU in C/Rust code that holds the GIL,
so throughput scales with processes, not threads. Processes start with `spawn` (the parent runs
polars' thread pool, which `fork` would copy mid-state) only once the first large batch arrives,
and are reused for every later batch of a streaming run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

T = TypeVar("T")

#: below this many items the pool costs more (process start-up, ~0.3 s) than it saves
PARALLEL_MIN_ITEMS = 6000
CHUNK = 4000


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class WorkerPool:
    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = default_jobs() if jobs is None else max(1, jobs)
        self._executor: ProcessPoolExecutor | None = None

    def map_chunks(self, fn: Callable[..., list[T]], items: Sequence[Any], *args: Any) -> list[T]:
        """`fn(chunk, *args)` over chunks of `items`, results concatenated in order."""
        if self.jobs <= 1 or len(items) < PARALLEL_MIN_ITEMS:
            return fn(list(items), *args)
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("spawn"))
        chunks = [list(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
        out: list[T] = []
        for part in self._executor.map(fn, chunks, *([a] * len(chunks) for a in args)):
            out.extend(part)
        return out

    def submit_chunks(self, fn: Callable[..., list[T]], items: Sequence[Any], *args: Any,
                      chunk: int = 1000) -> Callable[[], list[T]]:
        """Start `fn(chunk, *args)` on the workers; returns a function that waits and concatenates.

        Small chunks keep both workers busy to the end of a batch; returning before the work is
        done lets the caller read the next batch meanwhile (pipelining).
        """
        if self.jobs <= 1 or len(items) < PARALLEL_MIN_ITEMS:
            done = fn(list(items), *args)
            return lambda: done
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("spawn"))
        futures = [self._executor.submit(fn, list(items[i:i + chunk]), *args) for i in range(0, len(items), chunk)]

        def wait() -> list[T]:
            out: list[T] = []
            for f in futures:
                out.extend(f.result())
            return out

        return wait

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """`fn(*args)` on a worker process (the pool starts on first use)."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("spawn"))
        return self._executor.submit(fn, *args)

    def warm(self, fn: Callable[[], Any]) -> None:
        """Start the workers now, each running `fn` (imports), while this process does other work."""
        if self.jobs > 1:
            for _ in range(self.jobs):
                self.submit(fn)

    def ordered(self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], *, window: int | None = None) -> Iterator[T]:
        """`fn(*args)` for each args tuple of `calls`, results in order, at most `window` in flight.

        The bound keeps memory flat however large the input: results wait for the caller, and
        the workers get new calls only as the caller takes results (2 per worker keeps both busy).
        In this process, one call at a time, when there is a single job.
        """
        if self.jobs <= 1:
            yield from (fn(*args) for args in calls)
            return
        limit = window or 2 * self.jobs + 1
        pending: deque[Future[T]] = deque()
        try:
            for args in calls:
                pending.append(self.submit(fn, *args))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
