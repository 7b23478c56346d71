"""Announcements (seed: Annonce Endpoints): each role reads what targets it."""

from __future__ import annotations

import uuid
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth
from server.content import operations
from server.content.models import Annonce
from server.content.schemas import (
    AnnonceInSchema,
    AnnonceListArgs,
    AnnoncePatchSchema,
    AnnonceSchema,
)
from server.events.api import event_filter
from server.extensions import db
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of

bp = Blueprint("annonces", __name__, description="Announcements of the caller's event")


@bp.get("/api/annonces/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(AnnonceListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(AnnonceSchema))
@documented(bp, errors=(400, 403))
def list_annonces(**args: Any) -> dict[str, Any]:
    """The announcements the caller may read (for all, for their role, their own;
    gestionnaires: every one), newest first."""
    identity = current_identity()
    stmt = select(Annonce).where(Annonce.event_id == event_filter(args.get("event_id")))
    rule = operations.annonce_visibility(identity)
    if rule is not None:
        stmt = stmt.where(rule)
    if args.get("target") is not None:
        stmt = stmt.where(Annonce.target == args["target"])
    if args.get("created_by") is not None:
        stmt = stmt.where(Annonce.created_by_id == args["created_by"])
    if args.get("search"):
        term = args["search"]
        stmt = stmt.where(
            or_(
                Annonce.title.icontains(term, autoescape=True),
                Annonce.description.icontains(term, autoescape=True),
            )
        )
    stmt = stmt.order_by(Annonce.created_at.desc(), Annonce.id.desc())
    return paginate(stmt, args=args)


@bp.post("/api/annonces/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(AnnonceInSchema)
@bp.response(201, AnnonceSchema)
@documented(bp, errors=(400, 403, 415))
def create_annonce(data: dict[str, Any]) -> Annonce:
    """Any member of the event announces (target: all by default)."""
    annonce = operations.create_annonce(current_identity(), data)
    db.session.commit()
    return annonce


@bp.get("/api/annonces/<uuid:annonce_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(200, AnnonceSchema)
@documented(bp, errors=(403, 404))
def get_annonce(annonce_id: uuid.UUID) -> Annonce:
    """One announcement the caller may read."""
    return operations.visible_annonce(current_identity(), annonce_id)


@bp.put("/api/annonces/<uuid:annonce_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(AnnonceInSchema)
@bp.response(200, AnnonceSchema)
@documented(bp, errors=(400, 403, 404, 415))
def replace_annonce(data: dict[str, Any], annonce_id: uuid.UUID) -> Annonce:
    """The author or a gestionnaire rewrites it (title required)."""
    annonce = operations.update_annonce(current_identity(), annonce_id, data)
    db.session.commit()
    return annonce


@bp.patch("/api/annonces/<uuid:annonce_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(AnnoncePatchSchema)
@bp.response(200, AnnonceSchema)
@documented(bp, errors=(400, 403, 404, 415))
def update_annonce(data: dict[str, Any], annonce_id: uuid.UUID) -> Annonce:
    """The author or a gestionnaire changes the fields given."""
    annonce = operations.update_annonce(current_identity(), annonce_id, data)
    db.session.commit()
    return annonce


@bp.delete("/api/annonces/<uuid:annonce_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(204)
@documented(bp, errors=(403, 404))
def delete_annonce(annonce_id: uuid.UUID) -> ResponseReturnValue:
    """The author or a gestionnaire deletes it."""
    operations.delete_annonce(current_identity(), annonce_id)
    db.session.commit()
    return ""
