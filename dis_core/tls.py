"""TLS settings in one place: server contexts and verifying HTTP clients.

Nothing here can turn certificate verification off: there is no parameter for it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import quote

import requests


def server_context(
    cert: Path, key: Path, ca: Path | None = None, *, require_client_cert: bool = False
) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with ``ca`` it verifies client certificates when sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    if ca is not None:
        context.load_verify_locations(str(ca))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client context that verifies the server against ``ca`` and checks the host name."""
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def proxy_url(host: str, port: int, user: str = "", password: str = "") -> str:
    """The URL requests needs for an HTTP CONNECT proxy, credentials quoted."""
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    return f"http://{credentials}{host}:{port}"


def http_session(
    ca: Path,
    *,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    proxy: str | None = None,
) -> requests.Session:
    """A requests session that verifies servers against ``ca`` and ignores environment proxies."""
    session = requests.Session()
    session.trust_env = False  # only the configured proxy, never one from the environment
    session.verify = str(ca)
    if client_cert is not None and client_key is not None:
        session.cert = (str(client_cert), str(client_key))
    if proxy:
        session.proxies = {"https": proxy, "http": proxy}
    return session
