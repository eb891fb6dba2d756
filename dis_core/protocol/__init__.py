"""The wire format shared by endpoint -> Quarantine Server and Quarantine Server -> gateway."""

from dis_core.protocol.errors import ProtocolError
from dis_core.protocol.message import SampleMessage, pack_sample, unpack_sample

__all__ = ["ProtocolError", "SampleMessage", "pack_sample", "unpack_sample"]
