"""Inbox event statuses.

pending -> handled | ignored (no handler for the topic) | failed -> (retry) ... -> dead.
A replay puts failed, dead, handled or ignored events back to pending.
"""

from __future__ import annotations

from enum import StrEnum


class EventStatus(StrEnum):
    PENDING = "pending"
    HANDLED = "handled"
    FAILED = "failed"
    DEAD = "dead"
    IGNORED = "ignored"


REPLAYABLE = (EventStatus.FAILED, EventStatus.DEAD, EventStatus.HANDLED, EventStatus.IGNORED)
