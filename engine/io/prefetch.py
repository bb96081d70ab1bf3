"""Read ahead on a background thread so parsing the next block overlaps checking this one.

pyarrow's parser, file reads and Polars release the GIL, so on two cores the reader thread and
the consumer genuinely run at once. Order is preserved; an exception in the reader is re-raised
in the consumer at the point it would have occurred; a consumer that stops early stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


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
