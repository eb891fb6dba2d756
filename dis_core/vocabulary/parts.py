"""The parts of the system that own attributes and make changes."""

from enum import StrEnum


class Part(StrEnum):
    """Who set an attribute or made a change."""

    ENDPOINT = "endpoint"
    QUARANTINE_SERVER = "quarantine_server"
    GATEWAY = "gateway"
    BACKOFFICE = "backoffice"
    ANALYST = "analyst"
    ADMINISTRATOR = "administrator"
