"""The three databases of an installation, by part name: where each part's models are and
which configuration key holds its URL. The launcher is the one place that knows every part."""

from __future__ import annotations

from sqlalchemy import MetaData

from dis_core.config import Config

PARTS = ("quarantine_server", "gateway", "backoffice")


def metadata_of(part: str) -> MetaData:
    """The tables of ``part``'s database (its declarative models)."""
    if part == "quarantine_server":
        from quarantine_server.models import Base as ServerBase

        return ServerBase.metadata
    if part == "gateway":
        from gateway_sim.models import Base as GatewayBase

        return GatewayBase.metadata
    if part == "backoffice":
        from backoffice.store.models import Base as BackOfficeBase

        return BackOfficeBase.metadata
    raise ValueError(f"unknown database {part!r}; one of {', '.join(PARTS)}")


def url_of(config: Config, part: str) -> str:
    """The configured URL of ``part``'s database."""
    if part == "quarantine_server":  # its URL sits in the General tab, not in a section of its own
        from quarantine_server.database import database_url

        return database_url(config)
    return config.database_url(part)
