"""Fakes and builders for the Quarantine Server tests: an endpoint's Defcast listener, samples
forwarded over HTTP like an endpoint, a CONNECT proxy, syslog and SMTP receivers."""

from __future__ import annotations

import base64
import select
import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from dis_core.definitions import read_package
from tests.support.samples import forward_headers


# --- a fake endpoint's Defcast listener --------------------------------------------------------
@dataclass
class DefcastEndpoint:
    computer: str
    verify_key: Any
    sequence: int = 0
    refuse: bool = False
    pushes: int = 0

    def app(self) -> Flask:
        app = Flask("defcast")
        app.add_url_rule("/defcast/v1/sequence", view_func=self.get_sequence)
        app.add_url_rule("/defcast/v1/definitions", view_func=self.push, methods=["POST"])
        return app

    def get_sequence(self) -> Response:
        return jsonify({"computer": self.computer, "sequence": self.sequence})

    def push(self) -> Response:
        self.pushes += 1
        if self.refuse:
            response = jsonify(
                {"installed": False, "error": "install_failed", "message": "disk full"}
            )
            response.status_code = 507
            return response
        self.sequence = read_package(request.get_data(), self.verify_key).sequence
        return jsonify({"installed": True, "sequence": self.sequence})


# --- forwarding like an endpoint ---------------------------------------------------------------
def forward(
    session: requests.Session, base: str, content: bytes, **kwargs: Any
) -> requests.Response:
    headers, body = forward_headers(content, **kwargs)
    return session.post(f"{base}/intake/v1/samples", headers=headers, data=body, timeout=30)


# --- a CONNECT proxy with Basic credentials ------------------------------------------------------
class ConnectProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.tunnels: list[str] = []
        self.refused = 0

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        request_line = self.rfile.readline(8192).decode("latin-1").strip()
        headers = {}
        while line := self.rfile.readline(8192).decode("latin-1").strip():
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, target, _ = (request_line.split(" ") + ["", "", ""])[:3]
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if headers.get("proxy-authorization") != self.server.expected:
            self.server.refused += 1
            self.wfile.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
            )
            return
        host, _, port = target.rpartition(":")
        if host not in {"127.0.0.1", "localhost"}:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.server.tunnels.append(target)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        _pipe(self.connection, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 10)
            if not ready:
                return
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


# --- syslog and SMTP receivers -----------------------------------------------------------------
class SyslogReceiver:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def receive(self) -> str:
        data, _ = self.sock.recvfrom(65536)
        return data.decode()

    def close(self) -> None:
        self.sock.close()


class SmtpSink(socketserver.ThreadingTCPServer):
    """A tiny SMTP server that keeps every message it is given."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[str, str]] = []  # (recipients, data)
        self.arrived = threading.Event()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpSink

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self._say("220 sink ready")
        recipients: list[str] = []
        while line := self.rfile.readline(65536).decode("utf-8", "replace"):
            verb = line[:4].upper()
            if verb in {"EHLO", "HELO"}:
                self._say("250 sink")
            elif verb == "MAIL":
                self._say("250 ok")
            elif verb == "RCPT":
                recipients.append(line.strip()[8:])
                self._say("250 ok")
            elif verb == "DATA":
                self._say("354 go on")
                self.server.messages.append((",".join(recipients), self._data()))
                self.server.arrived.set()
                self._say("250 stored")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")

    def _data(self) -> str:
        lines = []
        while (line := self.rfile.readline(65536).decode("utf-8", "replace")) not in {".\r\n", ""}:
            lines.append(line)
        return "".join(lines)
