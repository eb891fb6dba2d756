"""HTTPS client for the Quarantine Server's intake (docs/protocol.md), verification always on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from dis_core.config import Config
from dis_core.tls import http_session

# Answers after which the same request may work later: the server is busy, restarting or broken.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class IntakeUnavailable(Exception):
    """The server could not be reached or answered 'try again later'; retry after the interval."""


class IntakeRefused(Exception):
    """The server refused the request for good (a 4xx answer); ``error`` is its error value."""

    def __init__(self, http_status: int, error: str, message: str) -> None:
        super().__init__(f"HTTP {http_status} {error}: {message}")
        self.http_status = http_status
        self.error = error
        self.message = message


@dataclass(frozen=True)
class ForwardReceipt:
    """The server's acknowledgement of a forwarded sample."""

    sample_id: str
    status: str
    new: bool  # 201: stored now; 200: the server already held this sample
    definitions_needed: int | None = None  # the sequence that settles it, once the server knows


def client_files(config: Config) -> tuple[Path, Path | None, Path | None]:
    """CA file, and the client certificate and key when the local CA issued them."""
    certs = config.certs_dir
    ca = (
        Path(config.web_communication.ca_file)
        if config.web_communication.ca_file
        else certs / "ca.pem"
    )
    cert, key = certs / "client.pem", certs / "client.key"
    if cert.exists() and key.exists():
        return ca, cert, key
    return ca, None, None


class IntakeClient:
    """Forward samples, send install confirmations and pull definitions."""

    def __init__(
        self,
        base_url: str,
        ca: Path,
        *,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not base_url.startswith("https://"):
            raise ValueError(f"Quarantine Server URL must be https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = http_session(ca, client_cert=client_cert, client_key=client_key)

    @classmethod
    def from_config(cls, config: Config) -> IntakeClient:
        ca, cert, key = client_files(config)
        return cls(
            config.endpoint.server_url,
            ca,
            client_cert=cert,
            client_key=key,
            timeout_s=config.endpoint.timeout_s,
        )

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(
                method, self.base_url + path, timeout=self.timeout_s, **kwargs
            )
        except requests.RequestException as exc:
            raise IntakeUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from None
        if response.status_code in RETRYABLE_STATUS:
            raise IntakeUnavailable(
                f"{method} {path}: HTTP {response.status_code} {_error_text(response)}"
            )
        return response

    def forward(self, headers: dict[str, str], body: bytes) -> ForwardReceipt:
        response = self._send("POST", "/intake/v1/samples", headers=headers, data=body)
        if response.status_code not in (200, 201):
            raise _refusal(response)
        reply = _json(response)
        if "id" not in reply:
            raise IntakeUnavailable("forward: the server's reply has no sample id")
        needed = reply.get("definitions_needed")
        return ForwardReceipt(
            str(reply["id"]),
            str(reply.get("status", "")),
            response.status_code == 201,
            needed if isinstance(needed, int) and not isinstance(needed, bool) else None,
        )

    def confirm(self, confirmation: dict[str, Any]) -> dict[str, Any]:
        """Send one confirmation; the server's JSON answer (per-sample results when it gives them)."""
        response = self._send("POST", "/intake/v1/confirmations", json=confirmation)
        if response.status_code != 200:
            raise _refusal(response)
        return _json(response)

    def active_sequence(self) -> int | None:
        """The sequence of the server's active set, without downloading it; None when it has none."""
        response = self._send("HEAD", "/intake/v1/definitions/active")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _refusal(response)
        try:
            return int(response.headers["X-Signatures-Sequence"])
        except (KeyError, ValueError):
            raise IntakeRefused(
                200, "malformed", "the definitions reply names no sequence"
            ) from None

    def definitions(self, ref: str = "active") -> bytes | None:
        """The signed full package of the server's ``ref`` set; None when it has none."""
        response = self._send("GET", f"/intake/v1/definitions/{ref}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _refusal(response)
        return response.content


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_text(response: requests.Response) -> str:
    data = _json(response)
    return f"{data.get('error', response.headers.get('X-Error', ''))}: {data.get('message', '')}".strip(
        ": "
    )


def _refusal(response: requests.Response) -> IntakeRefused:
    data = _json(response)
    error = str(data.get("error") or response.headers.get("X-Error") or "refused")
    message = str(data.get("message") or response.headers.get("X-Error-Detail") or response.reason)
    return IntakeRefused(response.status_code, error, message)
