"""Every X- attribute the system sends, in one registry.

Attributes travel as HTTP headers. Each has one owner (the part that sets it), a type that
says how its text is parsed, the messages in which it is required, and a one-line meaning
that the console shows on demand.

Header text is Latin-1 on the wire, but file, user and computer names are not: text outside
ASCII travels as an RFC 8187 ext-value (``UTF-8''`` then percent-encoded UTF-8), and raw UTF-8
from other clients (which a WSGI server hands over decoded as Latin-1) is read back as UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote

from dis_core.vocabulary.errors import CodedError, SampleError
from dis_core.vocabulary.kinds import ScanResult
from dis_core.vocabulary.parts import Part
from dis_core.vocabulary.state import SampleState


class Message(StrEnum):
    """The messages of the protocol that carry attributes."""

    FORWARD = "forward"  # endpoint -> Quarantine Server: a quarantined sample
    SUBMIT = "submit"  # Quarantine Server -> gateway: a sample for analysis
    STATUS = "status"  # gateway -> Quarantine Server: reply to submit and status queries
    DEFINITIONS = "definitions"  # gateway -> Quarantine Server: a definition set download


class AttributeProblem(CodedError, ValueError):
    """An attribute is missing or malformed; ``error`` says which."""

    def __init__(self, error: SampleError, name: str, detail: str) -> None:
        super().__init__(error, detail, message=f"{error.value}: {name}: {detail}")
        self.name = name


_HEX = re.compile(r"^[0-9a-f]+$")
MAX_TEXT = 1024
PRIORITY_MAX = 1000


EXT_VALUE = "UTF-8''"  # RFC 8187: the charset, an empty language, then percent-encoded bytes


def header_text(value: str) -> str:
    """Text as it can travel in a header: itself when plain ASCII, else an ext-value."""
    if value.isascii() and not value.startswith(EXT_VALUE):
        return value
    return EXT_VALUE + quote(value, safe="")


def text_from_header(raw: str) -> str:
    """The text a sender meant: an ext-value decoded, raw UTF-8 recovered, else as it came."""
    if raw.startswith(EXT_VALUE):
        return unquote(raw[len(EXT_VALUE) :], errors="strict")
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:  # real Latin-1 text (or not UTF-8 at all): keep what came
        return raw


def _text(value: str) -> str:
    text = text_from_header(value)
    if len(text) > MAX_TEXT or any(ord(c) < 32 for c in text):
        raise ValueError("text too long or has control characters")
    return text


def _integer(value: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        raise ValueError("not an integer")
    number = int(value)
    if number < 0:
        raise ValueError("negative")
    return number


def _priority(value: str) -> int:
    number = _integer(value)
    if number > PRIORITY_MAX:
        raise ValueError(f"above {PRIORITY_MAX}")
    return number


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in {"yes", "no", "1", "0", "true", "false"}:
        raise ValueError("not yes/no")
    return lowered in {"yes", "1", "true"}


def _date(value: str) -> datetime | None:
    """ISO 8601 in UTC; '0' means not set (the seed's convention for dates never reached)."""
    if value.strip() == "0":
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _sha256(value: str) -> str:
    value = value.strip().lower()
    if len(value) != 64 or not _HEX.match(value):
        raise ValueError("not a SHA-256 hex digest")
    return value


def _hexkey(value: str) -> str:
    value = value.strip().lower()
    if not 16 <= len(value) <= 128 or len(value) % 2 or not _HEX.match(value):
        raise ValueError("not an even-length hex key of 8-64 bytes")
    return value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return value

    return parse


def _state(value: str) -> SampleState:
    return SampleState(value)


def _error(value: str) -> SampleError:
    return SampleError(value)


def _sequence(value: str) -> int:
    number = _integer(value)
    if number == 0:
        return 0  # 0: no sequence (yet)
    return number


@dataclass(frozen=True)
class Attribute:
    """One X- attribute: its header name, parser, owner, where it is required, and meaning."""

    name: str
    parse: Callable[[str], Any]
    owner: Part
    meaning: str
    required_in: frozenset[Message] = field(default_factory=frozenset)
    type_name: str = "text"
    user_data: bool = False  # removed when the Sample Policy strips user data


def _attr(
    name: str,
    parse: Callable[[str], Any],
    owner: Part,
    meaning: str,
    required: tuple[Message, ...] = (),
    type_name: str = "text",
    user_data: bool = False,
) -> Attribute:
    return Attribute(name, parse, owner, meaning, frozenset(required), type_name, user_data)


F, SU, ST, D = Message.FORWARD, Message.SUBMIT, Message.STATUS, Message.DEFINITIONS
E, Q, G, B = Part.ENDPOINT, Part.QUARANTINE_SERVER, Part.GATEWAY, Part.BACKOFFICE

# one attribute per line reads as a table
# fmt: off
ATTRIBUTE_LIST: tuple[Attribute, ...] = (
    # sample identity
    _attr("X-Sample-Checksum", _sha256, E, "SHA-256 of the original file, before any packing.", (F, SU), "sha256"),
    _attr("X-Checksum-Method", _choice("sha256"), E, "Digest used for both checksums.", (F, SU), "choice"),
    _attr("X-Content-Checksum", _sha256, E, "SHA-256 of the body exactly as sent (packed).", (F, SU), "sha256"),
    _attr("X-Content-Length", _integer, E, "Number of body bytes the sender declares it sends.", (F, SU), "integer"),
    _attr("X-Sample-Size", _integer, E, "Size in bytes of the original file.", (F, SU), "integer"),
    _attr("X-Sample-Type", _choice("file", "boot", "memory"), E, "What was captured: a file, a boot record or memory.", (F, SU), "choice"),
    _attr("X-Sample-File", _text, E, "File name of the quarantined item on its computer.", (F,), user_data=True),
    _attr("X-Sample-Extension", _text, E, "File name extension of the item, without the dot."),
    _attr("X-Sample-Id", _text, E, "The endpoint's own identifier for this quarantined item.", (F,)),
    _attr("X-Sample-Side-Effects", _text, E, "Side effects recorded when the item was quarantined (JSON list)."),
    # origin
    _attr("X-Platform-User", _text, E, "User logged on where the item was found.", (F,), user_data=True),
    _attr("X-Platform-Computer", _text, E, "Name of the computer where the item was found.", (F,), user_data=True),
    _attr("X-Platform-Domain", _text, E, "Domain of that computer.", user_data=True),
    _attr("X-Platform-Address", _text, E, "Network address of that computer.", user_data=True),
    _attr("X-Platform-Port", _integer, E, "Port on which the endpoint takes Defcast deliveries.", type_name="integer"),
    _attr("X-Scan-Result", _choice(*ScanResult), E, "What the local scan concluded.", (F,), "choice"),
    _attr("X-Scan-Virus-Name", _text, E, "Virus name the local scan gave, if any."),
    _attr("X-Scan-Signatures-Sequence", _sequence, E, "Sequence of the definitions installed on the endpoint.", (F,), "integer"),
    _attr("X-Date-Created", _date, E, "When the file was created on its computer.", type_name="date"),
    _attr("X-Date-Modified", _date, E, "When the file was last changed on its computer.", type_name="date"),
    _attr("X-Date-Quarantined", _date, E, "When the endpoint quarantined the file.", (F,), "date"),
    _attr("X-Date-Forwarded", _date, E, "When the endpoint forwarded the sample.", type_name="date"),
    # handling on the Quarantine Server
    _attr("X-Sample-Priority", _priority, Q, "Submission priority, 1-1000 (0: held for manual submission).", type_name="integer"),
    _attr("X-Date-Submitted", _date, Q, "When the Quarantine Server sent the sample to the gateway.", (SU,), "date"),
    _attr("X-Date-Finished", _date, Q, "When the Quarantine Server finished with the sample.", type_name="date"),
    _attr("X-Content-Compression", _choice("none", "zlib"), Q, "How the body was compressed for transport.", (F, SU), "choice"),
    _attr("X-Content-Scrambling", _choice("none", "xor-sha256"), Q, "How the body was scrambled so it cannot run by accident.", (F, SU), "choice"),
    _attr("X-Content-Scrambling-Key", _hexkey, Q, "Per-message key for the scrambling (hex)."),
    _attr("X-Content-Strip", _flag, Q, "Whether user data was stripped from the content.", type_name="flag"),
    _attr("X-Quarantine-Server", _text, Q, "Name of the Quarantine Server that submitted the sample."),
    _attr("X-Customer-Name", _text, Q, "Company name of the submitting customer.", (SU,)),
    _attr("X-Customer-Account", _text, Q, "Customer's account number with the vendor."),
    _attr("X-Customer-Contact-Name", _text, Q, "Person to contact about the submission.", (SU,)),
    _attr("X-Customer-Contact-Telephone", _text, Q, "Contact's telephone number."),
    _attr("X-Customer-Contact-Email", _text, Q, "Contact's e-mail address.", (SU,)),
    # gateway replies
    _attr("X-Analysis-Cookie", _text, G, "Tracking cookie the gateway assigned to the submission.", (ST,)),
    _attr("X-Analysis-State", _state, G, "Analysis state of the sample at the vendor.", (ST,), "state"),
    _attr("X-Analysis-Virus-Name", _text, B, "Name of the virus the analysis found."),
    _attr("X-Analysis-Virus-Id", _text, B, "Identifier of the signature that detects the sample."),
    _attr("X-Analysis-Repairable", _flag, B, "Whether the definitions can repair the sample.", type_name="flag"),
    _attr("X-Analysis-Gateway", _text, G, "Name of the gateway that handled the sample."),
    _attr("X-Analysis-Filter", _text, G, "Which gateway filter settled the sample, if one did."),
    _attr("X-Date-Analyzed", _date, G, "When the sample reached a final state (its presence means final).", type_name="date"),
    _attr("X-Error", _error, G, "Why the request or the sample failed.", type_name="error"),
    _attr("X-Error-Detail", _text, G, "A readable sentence on the error."),
    _attr("X-Signatures-Sequence", _sequence, G, "Definition sequence needed for (or carried by) this reply.", (D,), "integer"),
    _attr("X-Signatures-Base", _sequence, G, "Base sequence of an incremental definition set.", type_name="integer"),
    _attr("X-Signatures-Kind", _choice("full", "incremental"), G, "Whether the definition set is full or incremental.", (D,), "choice"),
    _attr("X-Signatures-Certified", _flag, G, "Whether the definition set is certified.", (D,), "flag"),
    _attr("X-Signatures-Checksum", _sha256, G, "SHA-256 of the definition package as sent.", (D,), "sha256"),
)
# fmt: on

ATTRIBUTES: dict[str, Attribute] = {a.name.lower(): a for a in ATTRIBUTE_LIST}


def lookup(name: str) -> Attribute | None:
    return ATTRIBUTES.get(name.lower())


def required_for(message: Message) -> list[Attribute]:
    return [a for a in ATTRIBUTE_LIST if message in a.required_in]


def parse_attributes(headers: Mapping[str, str], message: Message) -> dict[str, Any]:
    """Parse every known X- attribute in ``headers``; check the ones ``message`` requires.

    Returns a dict keyed by canonical attribute name. Raises :class:`AttributeProblem` with
    ``missing`` or ``malformed``. Unknown X- headers are ignored (forward compatibility).
    """
    present = {k.lower(): v for k, v in headers.items()}
    for attribute in required_for(message):
        if not present.get(attribute.name.lower(), "").strip():
            raise AttributeProblem(SampleError.MISSING, attribute.name, "required attribute absent")
    parsed: dict[str, Any] = {}
    for key, raw in present.items():
        known = ATTRIBUTES.get(key)
        if known is None:
            continue
        try:
            parsed[known.name] = known.parse(raw)
        except (ValueError, TypeError) as exc:
            raise AttributeProblem(SampleError.MALFORMED, known.name, str(exc)) from None
    return parsed


def format_value(value: Any) -> str:
    """Render a parsed value back into header text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if value is None:
        return "0"
    if isinstance(value, str):
        return header_text(value)
    return str(value)


def format_attributes(values: Mapping[str, Any]) -> dict[str, str]:
    """Turn attribute values into headers, refusing names that are not in the registry."""
    headers: dict[str, str] = {}
    for name, value in values.items():
        attribute = lookup(name)
        if attribute is None:
            raise KeyError(f"unknown attribute {name}")
        headers[attribute.name] = format_value(value)
    return headers
