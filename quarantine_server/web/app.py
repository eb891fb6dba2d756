"""The Flask application factory of the Quarantine Server."""

from __future__ import annotations

import os

from flask import Flask, redirect, url_for
from flask.typing import ResponseReturnValue

from dis_core.clock import Clock
from dis_core.config import Config, load_config
from dis_core.operations import operations_blueprint
from quarantine_server import metrics
from quarantine_server.console import init_app as init_console
from quarantine_server.services import Services, build_services
from quarantine_server.web import api, errors, intake


def create_app(
    config: Config | None = None, services: Services | None = None, clock: Clock | None = None
) -> Flask:
    """The web app: endpoint intake under /intake/v1, the REST API under /api/v1, the console
    under /console (where / leads); /metrics, /livez and /readyz for operations."""
    if services is None:
        config = config or load_config(os.environ.get("DIS_CONFIG"))
        services = build_services(config, clock)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = None  # intake enforces its own limit from the properties
    app.json.sort_keys = False  # type: ignore[attr-defined]  # on Flask's DefaultJSONProvider, typed as the base
    app.extensions["quarantine_services"] = services
    errors.register(app)
    app.register_blueprint(intake.blueprint)
    app.register_blueprint(api.blueprint)
    init_console(app)
    app.register_blueprint(
        operations_blueprint(
            "quarantine-server",
            lambda: metrics.scrape(services),
            lambda: metrics.readiness(services),
        )
    )
    app.add_url_rule("/", "root", _to_console)
    return app


def _to_console() -> ResponseReturnValue:
    """The address ``dis up`` prints is the server's; people mean its console."""
    return redirect(url_for("console.home"))
