"""The agent's HTTP client for the gateway: TLS always verified, optional CONNECT proxy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from dis_core.config import Config
from dis_core.tls import http_session, proxy_url
from dis_core.vocabulary import CodedError, SampleError
from dis_core.vocabulary.attributes import AttributeProblem, Message, parse_attributes


class GatewayUnreachable(Exception):
    """No connection to the gateway (or to the proxy in front of it)."""


class GatewayRefused(CodedError):
    """The gateway answered with an error (``error`` from X-Error, else internal)."""

    def __init__(self, status: int, error: SampleError, detail: str) -> None:
        super().__init__(error, detail, message=f"{status} {error.value}: {detail}")
        self.status = status


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def attributes(self, message: Message) -> dict[str, Any]:
        try:
            return parse_attributes(self.headers, message)
        except AttributeProblem as problem:
            raise GatewayRefused(self.status, problem.error, f"gateway reply: {problem}") from None


def _refusal(response: requests.Response) -> GatewayRefused:
    raw = response.headers.get("X-Error", "")
    try:
        error = SampleError(raw)
    except ValueError:
        error = SampleError.INTERNAL
    detail = response.headers.get("X-Error-Detail") or response.text[:300]
    return GatewayRefused(response.status_code, error, detail)


class GatewayClient:
    """Submission, status and definition downloads, through the Firewall tab's proxy if set."""

    def __init__(self, config: Config, ca_file: Path) -> None:
        web, firewall = config.web_communication, config.firewall
        proxy = (
            proxy_url(firewall.name, firewall.port, firewall.user, firewall.password)
            if firewall.name
            else None
        )
        cert = Path(web.client_cert_file) if web.client_cert_file else None
        key = Path(web.client_key_file) if web.client_key_file else None
        self.base = web.gateway_url.rstrip("/")
        self._secrets = [v for v in (firewall.password, quote(firewall.password, safe="")) if v]
        self.timeout = web.timeout_s
        self.session = http_session(ca_file, client_cert=cert, client_key=key, proxy=proxy)

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Reply:
        try:
            response = self.session.request(
                method, self.base + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise GatewayUnreachable(self._masked(f"{method} {self.base}{path}: {exc}")) from None
        if response.status_code >= 400:
            raise _refusal(response)
        return Reply(response.status_code, dict(response.headers), response.content)

    def _masked(self, text: str) -> str:
        """Error text with the proxy password removed (it goes to logs, events and syslog)."""
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def submit(self, headers: dict[str, str], body: bytes) -> Reply:
        return self._call("POST", "/gateway/v1/samples", headers=headers, data=body)

    def status(self, cookie: str) -> Reply:
        return self._call("GET", f"/gateway/v1/samples/{quote(cookie, safe='')}")

    def status_by_checksum(self, checksum: str) -> Reply:
        return self._call("GET", "/gateway/v1/samples", params={"checksum": checksum})

    def definitions(self, ref: int | str, *, head: bool = False) -> Reply:
        return self._call("HEAD" if head else "GET", f"/gateway/v1/definitions/{ref}")

    def incremental(self, base: int, target: int) -> Reply:
        return self._call("GET", f"/gateway/v1/definitions/{base}/to/{target}")
