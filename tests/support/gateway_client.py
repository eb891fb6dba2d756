"""A small client for the gateway protocol (TLS verified against the local CA, always).

client = GatewayClient.from_config(config)
reply = client.submit(original_bytes, {"X-Sample-Type": "file", ...})
reply.cookie, reply.state            # later: client.status(reply.cookie)
download = client.definitions("newest")
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from dis_core.config import Config
from dis_core.protocol import pack_sample
from dis_core.tls import http_session, proxy_url
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.attributes import lookup


class GatewayUnreachable(Exception):
    """No answer: connection refused or cut, TLS failure, or timeout."""


class GatewayError(Exception):
    """The gateway answered with a protocol error (``X-Error``), or a download broke off."""

    def __init__(self, error: SampleError, detail: str, reply: GatewayReply | None = None) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error, self.detail, self.reply = error, detail, reply


def parse_reply_attributes(headers: Mapping[str, str]) -> dict[str, Any]:
    """Every X- attribute of a reply that parses; a reply is not checked like a request."""
    parsed: dict[str, Any] = {}
    for name, raw in headers.items():
        attribute = lookup(name)
        if attribute is None:
            continue
        try:
            parsed[attribute.name] = attribute.parse(raw)
        except (ValueError, TypeError):
            continue
    return parsed


@dataclass(frozen=True)
class GatewayReply:
    """A status-type reply (submit and status queries)."""

    http_status: int
    attributes: dict[str, Any]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def cookie(self) -> str | None:
        return self.attributes.get("X-Analysis-Cookie")

    @property
    def state(self) -> SampleState | None:
        return self.attributes.get("X-Analysis-State")

    @property
    def error(self) -> SampleError | None:
        return self.attributes.get("X-Error")

    @property
    def sequence(self) -> int | None:
        return self.attributes.get("X-Signatures-Sequence")

    @property
    def virus_name(self) -> str | None:
        return self.attributes.get("X-Analysis-Virus-Name")

    @property
    def repairable(self) -> bool | None:
        return self.attributes.get("X-Analysis-Repairable")

    @property
    def filter(self) -> str | None:
        return self.attributes.get("X-Analysis-Filter")

    @property
    def is_final(self) -> bool:
        return self.state is not None and self.state.is_final


@dataclass(frozen=True)
class DefinitionDownload:
    """A definition package (empty ``data`` for HEAD) and what its headers say about it."""

    data: bytes
    sequence: int
    kind: str
    certified: bool
    checksum: str
    base: int | None = None
    length: int = 0


class GatewayClient:
    def __init__(self, base_url: str, session: requests.Session, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: Config) -> GatewayClient:
        """Gateway URL, CA, client certificate and proxy from the Web Communication/Firewall tabs."""
        web, firewall = config.web_communication, config.firewall
        ca = Path(web.ca_file) if web.ca_file else config.certs_dir / "ca.pem"
        proxy = (
            proxy_url(firewall.name, firewall.port, firewall.user, firewall.password)
            if firewall.name
            else None
        )
        session = http_session(
            ca,
            client_cert=Path(web.client_cert_file) if web.client_cert_file else None,
            client_key=Path(web.client_key_file) if web.client_key_file else None,
            proxy=proxy,
        )
        return cls(web.gateway_url, session, web.timeout_s)

    def submit(
        self, original: bytes, attributes: Mapping[str, Any], *, stripped: bytes | None = None
    ) -> GatewayReply:
        """Pack and submit a sample; ``attributes`` are the submit attributes besides the packing ones."""
        headers, body = pack_sample(original, attributes, stripped=stripped)
        return self.submit_packed(headers, body)

    def submit_packed(self, headers: Mapping[str, str], body: bytes) -> GatewayReply:
        response = self._call("POST", "/gateway/v1/samples", headers=dict(headers), data=body)
        return self._status_reply(response)

    def status(self, cookie: str) -> GatewayReply:
        return self._status_reply(self._call("GET", f"/gateway/v1/samples/{cookie}"))

    def status_by_checksum(self, sample_checksum: str) -> GatewayReply:
        response = self._call("GET", "/gateway/v1/samples", params={"checksum": sample_checksum})
        return self._status_reply(response)

    def definitions(self, ref: int | str = "newest") -> DefinitionDownload:
        return self._download("GET", f"/gateway/v1/definitions/{ref}")

    def definitions_head(self, ref: int | str = "newest") -> DefinitionDownload:
        return self._download("HEAD", f"/gateway/v1/definitions/{ref}")

    def incremental(self, base: int, target: int | str) -> DefinitionDownload:
        return self._download("GET", f"/gateway/v1/definitions/{base}/to/{target}")

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method, self.base_url + path, timeout=self.timeout_s, **kwargs
            )
        except requests.exceptions.ChunkedEncodingError as exc:
            raise GatewayError(SampleError.LOST, f"the answer broke off: {exc}") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise GatewayUnreachable(f"{method} {path}: {exc}") from None

    def _status_reply(self, response: requests.Response) -> GatewayReply:
        reply = GatewayReply(
            response.status_code, parse_reply_attributes(response.headers), _json(response)
        )
        if response.status_code >= 400:
            raise _error_of(response, reply)
        return reply

    def _download(self, method: str, path: str) -> DefinitionDownload:
        response = self._call(method, path)
        if response.status_code >= 400:
            raise _error_of(
                response,
                GatewayReply(
                    response.status_code, parse_reply_attributes(response.headers), _json(response)
                ),
            )
        attrs = parse_reply_attributes(response.headers)
        download = DefinitionDownload(
            data=response.content,
            sequence=attrs.get("X-Signatures-Sequence", 0),
            kind=attrs.get("X-Signatures-Kind", "full"),
            certified=bool(attrs.get("X-Signatures-Certified")),
            checksum=attrs.get("X-Signatures-Checksum", ""),
            base=attrs.get("X-Signatures-Base"),
            length=int(response.headers.get("Content-Length", len(response.content))),
        )
        if method == "GET" and hashlib.sha256(download.data).hexdigest() != download.checksum:
            raise GatewayError(
                SampleError.CONTENT, "the package does not match X-Signatures-Checksum"
            )
        return download


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_of(response: requests.Response, reply: GatewayReply) -> GatewayError:
    body = reply.body
    error = reply.error or _error_value(body.get("error"))
    detail = str(body.get("message") or response.headers.get("X-Error-Detail") or response.reason)
    return GatewayError(error, detail, reply)


def _error_value(value: Any) -> SampleError:
    try:
        return SampleError(value)
    except ValueError:
        return SampleError.INTERNAL
