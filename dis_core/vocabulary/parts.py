"""The parts of the system that own attributes and make changes."""

from enum import StrEnum, auto


class Part(StrEnum):
    """Who set an attribute or made a change (stored as the lower-case member name). These are
    actors in the vocabulary, not the packages: the core never refers to a part's code."""

    ENDPOINT = auto()
    QUARANTINE_SERVER = auto()
    GATEWAY = auto()
    BACKOFFICE = auto()
    ANALYST = auto()
    ADMINISTRATOR = auto()
