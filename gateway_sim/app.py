"""The gateway's Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from dis_core.analysis import AnalysisLink
from dis_core.clock import Clock, clock_for
from dis_core.config import Config
from dis_core.operations import operations_blueprint
from gateway_sim import metrics
from gateway_sim.admin import admin
from gateway_sim.api import api
from gateway_sim.catalog import Repository, ScannerFactory
from gateway_sim.services import GatewayServices, build_services

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    link: AnalysisLink | None = None,
    repository_opener: Callable[[], Repository | None] | None = None,
    scanner_factory: ScannerFactory | None = None,
) -> Flask:
    """Build the gateway app. ``link``/``repository_opener``/``scanner_factory`` are for tests."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = None  # the submit view reads and bounds the body itself
    gateway: GatewayServices = build_services(
        config,
        clock or clock_for(config),
        link=link,
        repository_opener=repository_opener,
        scanner_factory=scanner_factory,
    )
    app.extensions["gateway"] = gateway
    app.register_blueprint(api)
    app.register_blueprint(admin)
    app.add_url_rule("/gateway/health", "health", _health)
    app.register_blueprint(
        operations_blueprint(
            "gateway", lambda: metrics.scrape(gateway), lambda: metrics.readiness(gateway)
        )
    )
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _health() -> Response:
    return jsonify({"ok": True, "part": "gateway"})


def _http_error(error: HTTPException) -> Response:
    name = (error.name or "error").lower()
    response = jsonify({"error": name, "message": error.description or name})
    response.status_code = error.code or 500
    return response


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error", exc_info=error)
    response = jsonify({"error": "internal", "message": f"{type(error).__name__}: {error}"})
    response.status_code = 500
    response.headers["X-Error"] = "internal"
    return response
