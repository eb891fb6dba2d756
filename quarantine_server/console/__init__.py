"""The Quarantine Console: the administrator's browser UI, served by the Quarantine Server.

A Flask blueprint under ``/console``. Pages are rendered on the server (Jinja autoescapes
everything, so file names carrying HTML stay text); a little local JavaScript keeps the item
list live. Every page needs a login; viewers may look, only admins may change anything, and
every POST carries this session's CSRF token. Each action calls the Quarantine Server's own
service functions, so the console holds no business rules of its own.
"""

from __future__ import annotations

from flask import Blueprint, Flask

console = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from quarantine_server.console import (  # noqa: E402  (views register themselves on the blueprint)
    access,
    item_views,
    items_views,
    login_views,
    pages,
    removal_views,
    server_views,
    step_views,
)

__all__ = ["console", "init_app"]


def init_app(app: Flask) -> None:
    """Register the console on ``app`` (the Quarantine Server's app factory calls this)."""
    pages.prepare(app)
    app.register_blueprint(console)


_ = (access, items_views, item_views, login_views, removal_views, server_views, step_views)
