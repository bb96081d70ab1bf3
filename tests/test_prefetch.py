"""Read-ahead keeps order, re-raises the reader's errors and stops with the consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine.errors import InputError
from engine.io.prefetch import prefetch


def test_order_is_kept() -> None:
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_reader_error_reaches_the_consumer_after_the_good_items() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise InputError("corrupt gzip stream", path="x.gz")

    seen = []
    with pytest.raises(InputError):
        for i in prefetch(items()):
            seen.append(i)
    assert seen == [1, 2]


def test_consumer_stopping_early_stops_the_reader() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    for i in prefetch(items(), depth=2):
        if i == 5:
            break
    assert len(produced) < 20
    assert not [t for t in threading.enumerate() if t.name == "engine-prefetch"]
