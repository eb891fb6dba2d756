"""The vendor repository: numbering, publishing and each error value where it belongs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dis_core.definitions import (
    DefinitionError,
    DefinitionRepository,
    SigningKey,
    apply_incremental,
    read_package,
)
from dis_core.definitions.package import full_package
from dis_core.vocabulary.errors import SampleError

from .helpers import binary_signature, full_set


@pytest.fixture()
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture()
def repo(tmp_path: Path, key: SigningKey) -> DefinitionRepository:
    return DefinitionRepository(tmp_path / "published", key.verify_key())


def _error(call, *args) -> SampleError:  # noqa: ANN001
    with pytest.raises(DefinitionError) as caught:
        call(*args)
    return caught.value.error


def test_sequence_numbers_are_never_reused(repo: DefinitionRepository, key: SigningKey) -> None:
    first, second = repo.next_sequence(), repo.next_sequence()
    assert (first, second) == (1, 2)
    repo.abandon(second, "unit test failed")
    assert repo.next_sequence() == 3
    repo.publish(full_set(key, 7, [binary_signature(1)]))  # published out of band
    assert repo.next_sequence() == 8
    fresh = DefinitionRepository(repo.root, key.verify_key())
    assert fresh.next_sequence() == 9


def test_publish_get_newest_and_certified(repo: DefinitionRepository, key: SigningKey) -> None:
    assert _error(repo.get, "newest") is SampleError.UNAVAILABLE
    assert _error(repo.get, "certified") is SampleError.UNAVAILABLE
    one = full_set(key, 1, [binary_signature(1)], certified=True)
    two = full_set(key, 2, [binary_signature(1), binary_signature(2, 2)])
    assert repo.publish(one).sequence == 1
    repo.publish(two)
    assert repo.get(1) == one and repo.get("2") == two
    assert repo.get("newest") == two and repo.get("certified") == one
    assert (repo.newest_sequence(), repo.certified_sequence()) == (2, 1)
    assert repo.load("newest").sequence == 2
    assert repo.publish(two).sequence == 2  # identical bytes again: idempotent


def test_each_error_value(repo: DefinitionRepository, key: SigningKey) -> None:
    repo.publish(full_set(key, 1, [binary_signature(1)]))
    repo.publish(full_set(key, 2, [binary_signature(2, 2)]))
    repo.abandon(3, "unit tests failed")
    repo.mark_unpublished(4, "disk full")
    repo.publish(full_set(key, 5, [binary_signature(5, 5)], certified=True))
    reserved = repo.next_sequence()
    assert _error(repo.get, 1) is SampleError.SUPERSEDED
    assert _error(repo.get, 3) is SampleError.ABANDONED
    assert _error(repo.get, 4) is SampleError.UNPUBLISHED
    assert _error(repo.get, reserved) is SampleError.UNAVAILABLE  # reserved, not published yet
    assert _error(repo.get, 99) is SampleError.UNAVAILABLE
    assert _error(repo.get, "bogus") is SampleError.UNAVAILABLE
    assert _error(repo.get, 0) is SampleError.UNAVAILABLE
    assert repo.get(5)
    # publishing into an abandoned number, or other bytes into a published one
    assert _error(repo.publish, full_set(key, 3, [binary_signature(3)])) is SampleError.ABANDONED
    assert _error(repo.publish, full_set(key, 5, [binary_signature(6)])) is SampleError.UNPUBLISHED
    assert _error(repo.publish, b"garbage") is SampleError.UNPACKAGE
    with pytest.raises(ValueError):
        repo.abandon(5, "too late")


def test_publish_refuses_other_keys(repo: DefinitionRepository) -> None:
    stranger = SigningKey.generate()
    assert _error(repo.publish, full_set(stranger, 1, [])) is SampleError.UNPACKAGE


def test_incremental_from_a_superseded_base(repo: DefinitionRepository, key: SigningKey) -> None:
    one = full_set(key, 1, [binary_signature(1)])
    three = full_set(key, 3, [binary_signature(1), binary_signature(3, 3)], certified=True)
    repo.publish(one)
    repo.abandon(2, "failed")
    repo.publish(three)
    package = repo.incremental(1, 3)
    base = read_package(one, key.verify_key())
    result = apply_incremental(base, read_package(package, key.verify_key()))
    assert full_package(result) == three
    assert repo.incremental(1, "newest") == package  # served from the cache the second time
    assert _error(repo.incremental, 2, 3) is SampleError.ABANDONED
    assert _error(repo.incremental, 3, 3) is SampleError.UNAVAILABLE
    assert _error(repo.incremental, 1, 9) is SampleError.UNAVAILABLE
    assert _error(repo.incremental, 1, 2) is SampleError.ABANDONED
