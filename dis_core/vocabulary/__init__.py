"""The words every part of the system uses: statuses, states, errors, alert events, attributes."""

from dis_core.vocabulary.errors import CodedError, SampleError
from dis_core.vocabulary.events import AlertEvent
from dis_core.vocabulary.state import NextMove, SampleState, StateGroup, settled
from dis_core.vocabulary.status import SampleStatus

__all__ = [
    "AlertEvent",
    "CodedError",
    "NextMove",
    "SampleError",
    "SampleState",
    "SampleStatus",
    "StateGroup",
    "settled",
]
