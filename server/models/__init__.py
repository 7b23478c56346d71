"""Every table of the data model (each domain's models.py), imported so that
Alembic and ``db.create_all`` see them all."""

from server.access.models import (
    PAYMENT_STATUSES,
    ExposantScan,
    RoomAccess,
    RoomDayTally,
    RoomTally,
    SessionAccess,
)
from server.content.models import ANNONCE_TARGETS, Annonce, SessionQuestion
from server.events.models import (
    SESSION_STATUSES,
    SESSION_TYPES,
    Event,
    EventSession,
    EventTally,
    Participant,
    Room,
    RoomAssignment,
    UserEventAssignment,
    participant_allowed_rooms,
)
from server.kiosks.models import KIOSK_MODES, ChangeLogEntry, Kiosk, SyncState
from server.models.limits import ATTEMPT_SCOPES, AuthAttempt
from server.people.models import RevokedBadge, RevokedToken, User, UserProfile

__all__ = [
    "ANNONCE_TARGETS",
    "ATTEMPT_SCOPES",
    "KIOSK_MODES",
    "PAYMENT_STATUSES",
    "SESSION_STATUSES",
    "SESSION_TYPES",
    "Annonce",
    "AuthAttempt",
    "ChangeLogEntry",
    "Event",
    "EventSession",
    "EventTally",
    "ExposantScan",
    "Kiosk",
    "Participant",
    "RevokedBadge",
    "RevokedToken",
    "Room",
    "RoomAccess",
    "RoomAssignment",
    "RoomDayTally",
    "RoomTally",
    "SessionAccess",
    "SessionQuestion",
    "SyncState",
    "User",
    "UserEventAssignment",
    "UserProfile",
    "participant_allowed_rooms",
]
