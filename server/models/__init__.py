"""The data model (SQLAlchemy 2.0 typed models), one module per aggregate."""

from server.models.access import PAYMENT_STATUSES, ExposantScan, RoomAccess, SessionAccess
from server.models.content import ANNONCE_TARGETS, Annonce, SessionQuestion
from server.models.events import (
    SESSION_STATUSES,
    SESSION_TYPES,
    Event,
    EventSession,
    Participant,
    Room,
    RoomAssignment,
    UserEventAssignment,
    participant_allowed_rooms,
)
from server.models.limits import ATTEMPT_SCOPES, AuthAttempt
from server.models.sync import KIOSK_MODES, ChangeLogEntry, Kiosk, SyncState
from server.models.users import RevokedBadge, RevokedToken, User, UserProfile

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
    "ExposantScan",
    "Kiosk",
    "Participant",
    "RevokedBadge",
    "RevokedToken",
    "Room",
    "RoomAccess",
    "RoomAssignment",
    "SessionAccess",
    "SessionQuestion",
    "SyncState",
    "User",
    "UserEventAssignment",
    "UserProfile",
    "participant_allowed_rooms",
]
