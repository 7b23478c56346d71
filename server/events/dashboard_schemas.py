"""The dashboard's answer (seed: Dashboard & Statistics)."""

from __future__ import annotations

from marshmallow import fields

from server.events.schemas import SessionSchema
from server.media import file_url
from server.schema import Instant, Schema
from shared.roles import ALL_ROLES


def _file(name: str) -> fields.Function:
    return fields.Function(
        lambda event: file_url(getattr(event, name)),
        required=True,
        allow_none=True,
        metadata={"type": "string", "format": "uri", "nullable": True},
    )


class DashboardEventSchema(Schema):
    """The caller's event, with the seed's Event fields (files as URLs)."""

    id = fields.UUID(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True)
    start_date = Instant(required=True)
    end_date = Instant(required=True)
    is_active = fields.Boolean(required=True)
    programme_file = _file("programme_file")
    guide_file = _file("guide_file")
    logo = _file("logo")
    banner = _file("banner")
    president = fields.Integer(attribute="president_id", required=True, allow_none=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


class DashboardStatsSchema(Schema):
    event = fields.Nested(DashboardEventSchema, required=True)
    total_participants = fields.Integer(
        required=True, metadata={"description": "people with an active participant role"}
    )
    total_sessions = fields.Integer(required=True)
    live_sessions = fields.Integer(required=True, metadata={"description": "status en_cours"})
    completed_sessions = fields.Integer(required=True, metadata={"description": "status termine"})
    upcoming_sessions = fields.List(
        fields.Nested(SessionSchema),
        required=True,
        metadata={"description": "the next 5 sessions still to come, by start time"},
    )
    my_role = fields.String(required=True, metadata={"enum": sorted(ALL_ROLES)})
