from __future__ import annotations

import threading

import pytest

from berth.errors import DigestMismatch, SizeMismatch
from berth.reference import Digest


def test_ingest_verifies_and_publishes(store) -> None:
    data = b"hello" * 1000
    d = store.blobs.ingest([data[:10], data[10:]], Digest.of_bytes(data), len(data))
    assert store.blobs.has(d) and store.blobs.read(d) == data and store.blobs.verify(d)
    assert not any(store.paths.tmp.iterdir())


def test_digest_mismatch_keeps_nothing(store) -> None:
    wrong = Digest.of_bytes(b"other")
    with pytest.raises(DigestMismatch, match="expected sha256:"):
        store.blobs.ingest([b"content"], wrong)
    assert not store.blobs.has(wrong)
    assert list(store.blobs) == []
    assert not any(store.paths.tmp.iterdir())


@pytest.mark.parametrize("size", [3, 100])
def test_truncated_or_oversized_keeps_nothing(store, size) -> None:
    data = b"0123456789"
    with pytest.raises(SizeMismatch):
        store.blobs.ingest([data], Digest.of_bytes(data), size)
    assert list(store.blobs) == [] and not any(store.paths.tmp.iterdir())


def test_concurrent_ingest_of_same_blob_stores_one_copy(store) -> None:
    data = b"x" * (1 << 20)
    d = Digest.of_bytes(data)
    errors = []

    def work() -> None:
        try:
            store.blobs.ingest((data[i : i + 4096] for i in range(0, len(data), 4096)), d, len(data))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert list(store.blobs) == [d] and store.blobs.verify(d)
