"""Read ahead on background threads so parsing the next blocks overlaps checking this one.

pyarrow's parser, file reads and Polars release the GIL, so on two cores the reader thread, the
parse workers and the consumer genuinely run at once. Order is preserved; an exception in the
reader is re-raised in the consumer at the point it would have occurred; a consumer that stops
early stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()
WORKERS = 2  # one per core
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="engine-block")
    return _POOL


def ordered_map(fn: Callable[[T], R], items: Iterator[T], ahead: int = WORKERS + 1) -> Iterator[R]:
    """`fn` over `items` on the worker threads, results in order, at most `ahead` in flight.

    Whole items in parallel keep both cores busy without stragglers (each worker takes the next
    item when it is done). An error raised by `items` reaches the consumer after the results of
    the items before it; a consumer that stops early cancels what has not started. `fn` must
    not wait for this pool itself.
    """
    pending: deque[Future[R]] = deque()
    error: Exception | None = None
    try:
        while True:
            try:
                item = next(items)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the earlier results
                error = exc
                break
            pending.append(_pool().submit(fn, item))
            while len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        if error is not None:
            raise error
    finally:
        for future in pending:
            future.cancel()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", _DONE))
        except BaseException as exc:  # handed to the consumer, which raises it
            q.put(("error", exc))

    thread = threading.Thread(target=produce, name="engine-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            tag, value = q.get()
            if tag == "done":
                return
            if tag == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]  # value is the T the reader produced
    finally:
        stop.set()
        while thread.is_alive():  # drain so a blocked producer can finish
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
