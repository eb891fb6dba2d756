"""docs/configuration.md and docs/vocabulary.md match the code they are generated from."""

from __future__ import annotations

import pytest

from dis_core.config import Config, describe
from dis_core.vocabulary import AlertEvent, SampleError, SampleState, SampleStatus
from dis_core.vocabulary.attributes import ATTRIBUTE_LIST

from .docgen import DOCS, DOCUMENTS, render_configuration, render_vocabulary


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_committed_document_is_up_to_date(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == DOCUMENTS[name](), (
        f"docs/{name} is out of date: run .venv/bin/python tests/core/docgen.py and commit it"
    )


def test_configuration_doc_names_every_key_and_its_variable() -> None:
    text = render_configuration()
    for section, key, _, _ in describe(Config()):
        assert f"`{key}`" in text
        assert f"`DIS_{section.upper()}__{key.upper()}`" in text


def test_vocabulary_doc_names_everything() -> None:
    text = render_vocabulary()
    for enum in (SampleStatus, SampleState, SampleError, AlertEvent):
        for member in enum:  # type: ignore[attr-defined]
            assert f"`{member.value}`" in text
            assert member.meaning in text
    for attribute in ATTRIBUTE_LIST:
        assert f"`{attribute.name}`" in text and attribute.meaning in text
    assert "choice: `file`, `boot`, `memory`" in text
