"""Model to JSON, with the seed's field names: user ids are integers, other ids
UUID strings, instants ISO 8601 with a zone, prices decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from server import signing
from server.media import stored_url
from server.models import Event, EventSession, Room, User, UserProfile
from shared.badge import Badge
from shared.roles import Role
from shared.timefmt import iso, utcnow


def money(value: Decimal | None) -> str:
    return f"{(value or Decimal('0')):.2f}"


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def signed_badge(profile: UserProfile) -> Badge:
    """The user's badge, signed: what every badge the server hands out carries."""
    return signing.signer().sign(profile.badge)


def badge_dict(profile: UserProfile) -> dict[str, Any]:
    return {
        "badge_id": profile.badge_id,
        "qr_code_data": signed_badge(profile).payload(),
        "is_checked_in": False,
    }


def event_status(event: Event, now: datetime | None = None) -> str:
    now = now or utcnow()
    if now < event.start_date:
        return "upcoming"
    if now > event.end_date:
        return "past"
    return "ongoing"


def event_summary(event: Event, role: str, profile: UserProfile | None) -> dict[str, Any]:
    """An event as the login and my-events answers show it, with the user's badge.

    Controllers get no badge: they scan, they are not scanned.
    """
    show_badge = profile is not None and role != Role.CONTROLLEUR
    return {
        "id": str(event.id),
        "name": event.name,
        "role": role,
        "start_date": iso(event.start_date),
        "end_date": iso(event.end_date),
        "status": event_status(event),
        "location": event.location,
        "logo_url": stored_url(event.logo),
        "banner_url": stored_url(event.banner),
        "badge": badge_dict(profile) if show_badge and profile else None,
    }


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "name": event.name,
        "description": event.description,
        "location": event.location,
        "start_date": iso(event.start_date),
        "end_date": iso(event.end_date),
        "is_active": event.is_active,
        "programme_file": stored_url(event.programme_file),
        "guide_file": stored_url(event.guide_file),
        "logo": stored_url(event.logo),
        "banner": stored_url(event.banner),
        "president": event.president_id,
        "created_by": event.created_by_id,
        "created_at": iso(event.created_at),
        "updated_at": iso(event.updated_at),
    }


def room_dict(room: Room) -> dict[str, Any]:
    return {
        "id": str(room.id),
        "event": str(room.event_id),
        "name": room.name,
        "capacity": room.capacity,
        "description": room.description,
        "location": room.location,
        "is_active": room.is_active,
        "created_by": room.created_by_id,
        "created_at": iso(room.created_at),
    }


def session_dict(session: EventSession) -> dict[str, Any]:
    return {
        "id": str(session.id),
        "event": str(session.event_id),
        "room": str(session.room_id),
        "room_name": session.room.name,
        "title": session.title,
        "description": session.description,
        "speaker_name": session.speaker_name,
        "speaker_title": session.speaker_title,
        "speaker_bio": session.speaker_bio,
        "speaker_photo_url": session.speaker_photo_url,
        "start_time": iso(session.start_time),
        "end_time": iso(session.end_time),
        "theme": session.theme,
        "status": session.status,
        "session_type": session.session_type,
        "is_paid": session.is_paid,
        "price": money(session.price),
        "youtube_live_url": session.youtube_live_url,
        "cover_image_url": session.cover_image_url,
        "is_live": session.is_live,
        "created_by": session.created_by_id,
        "created_at": iso(session.created_at),
    }
