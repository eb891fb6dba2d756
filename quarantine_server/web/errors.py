"""Every error the web app returns is JSON: {"error": <code>, "message": <sentence>}."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


def json_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(exc: HTTPException) -> Response:
    code = (exc.name or "error").lower().replace(" ", "_")
    response = json_error(exc.code or 500, code, exc.description or code)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    return json_error(500, "internal", f"internal error: {type(exc).__name__}")


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
