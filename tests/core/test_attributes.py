"""The X- attribute registry: required attributes per message, parsers, missing/malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.attributes import (
    ATTRIBUTE_LIST,
    MAX_TEXT,
    AttributeProblem,
    Message,
    format_attributes,
    format_value,
    lookup,
    parse_attributes,
    required_for,
    text_from_header,
)
from dis_core.vocabulary.parts import Part

GOOD_BY_TYPE = {
    "sha256": "ab" * 32,
    "integer": "12",
    "date": "2026-02-03T04:05:06Z",
    "flag": "yes",
    "state": "infected",
    "error": "missing",
    "text": "hello",
}
GOOD_CHOICE = {
    "X-Checksum-Method": "sha256",
    "X-Sample-Type": "file",
    "X-Scan-Result": "detected",
    "X-Content-Compression": "zlib",
    "X-Content-Scrambling": "none",
    "X-Signatures-Kind": "full",
}
BAD_BY_TYPE = {
    "sha256": "xyz",
    "integer": "twelve",
    "date": "yesterday",
    "flag": "maybe",
    "state": "sleeping",
    "error": "oops",
    "text": "bad\x01value",
    "choice": "something-else",
}


def good_value(name: str) -> str:
    attribute = lookup(name)
    assert attribute is not None
    return GOOD_CHOICE.get(attribute.name) or GOOD_BY_TYPE[attribute.type_name]


def good_headers(message: Message) -> dict[str, str]:
    return {a.name: good_value(a.name) for a in required_for(message)}


REQUIRED_CASES = [(m, a.name) for m in Message for a in required_for(m)]


def test_registry_is_consistent() -> None:
    names = [a.name for a in ATTRIBUTE_LIST]
    assert len(names) == len({n.lower() for n in names})
    for attribute in ATTRIBUTE_LIST:
        assert attribute.name.startswith("X-")
        assert attribute.meaning.strip()
        assert isinstance(attribute.owner, Part)
        assert attribute.type_name in BAD_BY_TYPE
        if attribute.type_name == "choice":
            assert attribute.name in GOOD_CHOICE


@pytest.mark.parametrize("message", list(Message))
def test_every_message_requires_something_and_a_full_set_parses(message: Message) -> None:
    assert required_for(message)
    parsed = parse_attributes(good_headers(message), message)
    assert set(parsed) == {a.name for a in required_for(message)}


def test_required_sets_match_the_protocol() -> None:
    forward = {a.name for a in required_for(Message.FORWARD)}
    submit = {a.name for a in required_for(Message.SUBMIT)}
    common = {"X-Sample-Checksum", "X-Content-Checksum", "X-Content-Length", "X-Sample-Size"}
    assert common <= forward & submit
    assert {"X-Customer-Name", "X-Date-Submitted"} <= submit - forward
    assert {"X-Analysis-Cookie", "X-Analysis-State"} == {
        a.name for a in required_for(Message.STATUS)
    }


@pytest.mark.parametrize(("message", "name"), REQUIRED_CASES, ids=str)
@pytest.mark.parametrize("absent", ["drop", "", "   "])
def test_missing_required_attribute(message: Message, name: str, absent: str) -> None:
    headers = good_headers(message)
    if absent == "drop":
        del headers[name]
    else:
        headers[name] = absent
    with pytest.raises(AttributeProblem) as caught:
        parse_attributes(headers, message)
    assert caught.value.error is SampleError.MISSING
    assert caught.value.name == name
    assert name in str(caught.value) and "missing" in str(caught.value)


@pytest.mark.parametrize(("message", "name"), REQUIRED_CASES, ids=str)
def test_malformed_required_attribute(message: Message, name: str) -> None:
    headers = good_headers(message)
    attribute = lookup(name)
    assert attribute is not None
    headers[name] = BAD_BY_TYPE[attribute.type_name]
    with pytest.raises(AttributeProblem) as caught:
        parse_attributes(headers, message)
    assert caught.value.error is SampleError.MALFORMED
    assert caught.value.name == name


@pytest.mark.parametrize("attribute", [a for a in ATTRIBUTE_LIST if not a.required_in], ids=str)
def test_optional_attribute_malformed_when_present(attribute: object) -> None:
    name = attribute.name  # type: ignore[attr-defined]
    headers = good_headers(Message.FORWARD) | {name: BAD_BY_TYPE[attribute.type_name]}  # type: ignore[attr-defined]
    with pytest.raises(AttributeProblem) as caught:
        parse_attributes(headers, Message.FORWARD)
    assert (caught.value.error, caught.value.name) == (SampleError.MALFORMED, name)


def test_header_names_are_case_insensitive_and_unknown_x_headers_ignored() -> None:
    headers = {k.lower(): v for k, v in good_headers(Message.STATUS).items()}
    headers["X-Future-Thing"] = "whatever"
    parsed = parse_attributes(headers, Message.STATUS)
    assert parsed == {"X-Analysis-Cookie": "hello", "X-Analysis-State": SampleState.INFECTED}


def parse_alone(name: str, text: str) -> object:
    attribute = lookup(name)
    assert attribute is not None
    return attribute.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("AB" * 32, "ab" * 32), ("  " + "0f" * 32 + " ", "0f" * 32)],
)
def test_sha256_parser_accepts(text: str, expected: str) -> None:
    assert parse_alone("X-Sample-Checksum", text) == expected


@pytest.mark.parametrize("text", ["", "ab" * 31, "ab" * 33, "g" * 64, "ab" * 31 + "a-"])
def test_sha256_parser_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_alone("X-Sample-Checksum", text)


@pytest.mark.parametrize(
    ("text", "expected"), [("0", 0), ("42", 42), (" 7 ", 7), ("9" * 18, int("9" * 18))]
)
def test_integer_parser_accepts(text: str, expected: int) -> None:
    assert parse_alone("X-Content-Length", text) == expected


@pytest.mark.parametrize("text", ["", "-1", "1.5", "1e3", "0x10", "9" * 19, "12abc"])
def test_integer_parser_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_alone("X-Content-Length", text)


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("1", 1), ("1000", 1000)])
def test_priority_range(text: str, expected: int) -> None:
    assert parse_alone("X-Sample-Priority", text) == expected


def test_priority_above_range_refused() -> None:
    with pytest.raises(ValueError, match="1000"):
        parse_alone("X-Sample-Priority", "1001")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", None),
        (" 0 ", None),
        ("2026-02-03T04:05:06Z", datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ("2026-02-03T04:05:06", datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ("2026-02-03T06:05:06+02:00", datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)),
    ],
)
def test_date_parser_accepts(text: str, expected: datetime | None) -> None:
    parsed = parse_alone("X-Date-Quarantined", text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "00"])
def test_date_parser_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_alone("X-Date-Quarantined", text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("YES", True),
        ("1", True),
        ("true", True),
        ("no", False),
        ("0", False),
        ("False", False),
    ],
)
def test_flag_parser(text: str, expected: bool) -> None:
    assert parse_alone("X-Content-Strip", text) is expected


@pytest.mark.parametrize("text", ["", "y", "on", "2"])
def test_flag_parser_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_alone("X-Content-Strip", text)


def test_choice_parser_is_exact() -> None:
    assert parse_alone("X-Sample-Type", "boot") == "boot"
    for text in ("File", "file ", "floppy", ""):
        with pytest.raises(ValueError, match="not one of"):
            parse_alone("X-Sample-Type", text)


@pytest.mark.parametrize("state", list(SampleState))
def test_state_parser_takes_every_state(state: SampleState) -> None:
    assert parse_alone("X-Analysis-State", state.value) is state


@pytest.mark.parametrize("error", list(SampleError))
def test_error_parser_takes_every_error(error: SampleError) -> None:
    assert parse_alone("X-Error", error.value) is error


@pytest.mark.parametrize("name", ["X-Analysis-State", "X-Error"])
def test_state_and_error_parsers_refuse_other_words(name: str) -> None:
    for text in ("", "Infected", "MISSING", "quarantined"):
        with pytest.raises(ValueError):
            parse_alone(name, text)


def test_text_parser_limits() -> None:
    assert parse_alone("X-Sample-File", "a" * MAX_TEXT) == "a" * MAX_TEXT
    for text in ("a" * (MAX_TEXT + 1), "line\nbreak", "tab\there"):
        with pytest.raises(ValueError):
            parse_alone("X-Sample-File", text)


def test_hex_key_parser() -> None:
    assert parse_alone("X-Content-Scrambling-Key", "AA" * 16) == "aa" * 16
    for text in ("aa" * 7, "aa" * 65, "abc" * 7, "zz" * 16):
        with pytest.raises(ValueError):
            parse_alone("X-Content-Scrambling-Key", text)


def test_sequence_parser() -> None:
    assert parse_alone("X-Signatures-Sequence", "0") == 0
    assert parse_alone("X-Signatures-Sequence", "123") == 123
    with pytest.raises(ValueError):
        parse_alone("X-Signatures-Sequence", "-5")


def test_format_values() -> None:
    assert format_value(True) == "yes" and format_value(False) == "no"
    assert format_value(None) == "0"
    assert format_value(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert format_value(SampleState.MACRO_WAIT) == "macroWait"
    assert format_value(17) == "17"


def test_format_then_parse_round_trips() -> None:
    values = {
        "X-Date-Analyzed": datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC),
        "X-Date-Finished": None,
        "X-Analysis-Repairable": False,
        "X-Analysis-State": SampleState.NOREPAIR,
        "X-Error": SampleError.LOST,
        "X-Analysis-Cookie": "c-1",
        "X-Signatures-Sequence": 42,
    }
    headers = format_attributes(values)
    assert parse_attributes(headers, Message.STATUS) == values


def test_format_refuses_unknown_names() -> None:
    with pytest.raises(KeyError, match="X-Nope"):
        format_attributes({"X-Nope": 1})


def test_format_uses_canonical_spelling() -> None:
    assert list(format_attributes({"x-analysis-cookie": "c"})) == ["X-Analysis-Cookie"]


def test_problem_carries_error_name_and_detail() -> None:
    problem = AttributeProblem(SampleError.MALFORMED, "X-Sample-Size", "not an integer")
    assert isinstance(problem, ValueError)
    assert str(problem) == "malformed: X-Sample-Size: not an integer"


STATUS_REPLY = {"X-Analysis-Cookie": "c1", "X-Analysis-State": "infected"}


@pytest.mark.parametrize(
    "name",
    ["日本語-wörm.exe", "Ünïcödé ファイル.doc", "plain.exe", "UTF-8''looks-encoded.exe", "%41.exe"],
)
def test_any_text_travels_in_a_latin1_header_and_reads_back_as_sent(name: str) -> None:
    sent = format_attributes({"X-Sample-File": name})["X-Sample-File"]
    sent.encode("latin-1")  # what http.client does with every header value
    assert sent == name or sent.startswith("UTF-8''")
    assert (
        parse_attributes({**STATUS_REPLY, "X-Sample-File": sent}, Message.STATUS)["X-Sample-File"]
        == name
    )


def test_raw_utf8_from_another_client_is_not_stored_garbled() -> None:
    as_wsgi_hands_it_over = "日本語-wörm.exe".encode().decode("latin-1")
    assert text_from_header(as_wsgi_hands_it_over) == "日本語-wörm.exe"
    assert text_from_header("caf\xe9.exe") == "caf\xe9.exe"  # real Latin-1 stays as it came


def test_a_broken_ext_value_is_malformed() -> None:
    with pytest.raises(AttributeProblem) as problem:
        parse_attributes({**STATUS_REPLY, "X-Sample-File": "UTF-8''%E6%97"}, Message.STATUS)
    assert problem.value.error is SampleError.MALFORMED
