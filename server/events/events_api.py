"""Events (seed: Event Management Endpoints): list, read, create, change, delete,
statistics, and the event's action log.

Create and change take JSON, or a multipart form with the event's files
(``programme_file``, ``guide_file``: PDF; ``logo``, ``banner``: PNG, JPEG or
WebP), checked and stored by ``server.uploads``; answers give their URLs. A
file replaced or removed is deleted from the storage once the change is
committed; a request that fails leaves no stored file behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from server.actionlog import entry_dict, log_query
from server.auth.permissions import (
    IS_EVENT_MEMBER,
    IS_GESTIONNAIRE,
    Identity,
    current_identity,
    require_auth,
)
from server.errors import APIError, validation_error
from server.events import operations
from server.events.models import Event, UserEventAssignment
from server.events.schemas import (
    ConflictSchema,
    EventFilesPatchSchema,
    EventFilesSchema,
    EventInputSchema,
    EventListArgs,
    EventPatchSchema,
    EventSchema,
    EventStatisticsSchema,
    LogArgs,
    LogEntrySchema,
)
from server.extensions import db
from server.pagination import paginate
from server.schema import Blueprint, documented, json_body, load, page_of
from server.storage import get_storage
from server.uploads import SIZE_LIMIT_KEYS, store_upload

bp = Blueprint("events", __name__, description="Events: the organizer's side")

#: what a multipart form may add to its files: the text fields and the form's framing
FORM_OVERHEAD = 1024 * 1024


def _is_admin(identity: Identity) -> bool:
    return bool(identity.user.is_admin)


def event_for(event_id: uuid.UUID) -> Event:
    """The event of the caller's token (a platform admin: any event); others are 404."""
    identity = current_identity()
    event = db.session.get(Event, event_id)
    if event is None or (event.id != identity.event_id and not _is_admin(identity)):
        raise APIError(404, "Event not found")
    return event


def upload_limit() -> int:
    """The largest body an event form may be: every file at its kind's limit."""
    config = current_app.config
    pdf = int(config[SIZE_LIMIT_KEYS["pdf"]])
    image = int(config[SIZE_LIMIT_KEYS["image"]])
    return 2 * pdf + 2 * image + FORM_OVERHEAD


def _load(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    return load(EventInputSchema(partial=partial), data)


@contextmanager
def _uploads(*, partial: bool) -> Iterator[tuple[dict[str, Any], dict[str, str | None]]]:
    """The request's fields and files (stored names; None: remove the file).

    Files stored here are deleted again if the block fails."""
    stored: list[str] = []
    storage = get_storage()
    try:
        if request.mimetype == "multipart/form-data":
            request.max_content_length = upload_limit()
            if not all(isinstance(key, str) and key for key in [*request.form, *request.files]):
                # a part named "x\\" reaches here with no name at all (werkzeug: None)
                raise validation_error("body", "every field needs a name")
            form = {key: request.form[key] for key in request.form}
            files: dict[str, str | None] = {}
            for name in operations.EVENT_FILES:
                if name not in form:
                    continue
                if form.pop(name) != "":
                    raise validation_error(name, "must be a file (or empty: remove the file)")
                files[name] = None  # an empty field: remove the file
            values = _load(form, partial=partial)
            for name in operations.EVENT_FILES:
                upload = request.files.get(name)
                if isinstance(upload, FileStorage) and (upload.filename or upload.content_length):
                    saved = store_upload(name, upload, storage=storage)
                    stored.append(saved.name)
                    files[name] = saved.name
        else:
            data = json_body()
            files = {}
            for name in operations.EVENT_FILES:
                if name not in data:
                    continue
                if data[name] is not None:
                    raise validation_error(
                        name, "Send files as multipart/form-data; null removes the file."
                    )
                files[name] = None
            values = _load(
                {k: v for k, v in data.items() if k not in operations.EVENT_FILES},
                partial=partial,
            )
        yield values, files
    except BaseException:
        db.session.rollback()
        for name in stored:
            storage.delete(name)
        raise


def _remove_files(names: list[str]) -> None:
    storage = get_storage()
    for name in names:
        storage.delete(name)


_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": EventInputSchema},
        "multipart/form-data": {"schema": EventFilesSchema},
    },
}
_PATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": EventPatchSchema},
        "multipart/form-data": {"schema": EventFilesPatchSchema},
    },
}


@bp.get("/api/events/")
@require_auth(event=False)
@bp.arguments(EventListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(EventSchema))
@documented(bp, errors=(400,))
def list_events(**args: Any) -> dict[str, Any]:
    """The events the caller has an active role in (a platform admin: every event)."""
    identity = current_identity()
    stmt = select(Event)
    if not _is_admin(identity):
        mine = select(UserEventAssignment.event_id).where(
            UserEventAssignment.user_id == identity.user_id,
            UserEventAssignment.is_active.is_(True),
        )
        stmt = stmt.where(Event.id.in_(mine))
    if args.get("is_active") is not None:
        stmt = stmt.where(Event.is_active.is_(args["is_active"]))
    return paginate(stmt.order_by(Event.start_date, Event.id), args=args)


@bp.post("/api/events/")
@require_auth(event=False)
@bp.response(201, EventSchema)
@bp.doc(requestBody=_BODY)
@documented(bp, errors=(400, 403, 413, 415))
def create_event() -> ResponseReturnValue:
    """Create an event (JSON, or a multipart form with its files); its creator
    becomes its gestionnaire. A platform admin, or a gestionnaire of the current event."""
    identity = current_identity()
    if not operations.may_create_event(identity):
        raise APIError(403, "Only a platform admin or a gestionnaire may create an event")
    with _uploads(partial=False) as (values, files):
        event = operations.create_event(identity, values, files)
        db.session.commit()
    return event, 201


@bp.get("/api/events/<uuid:event_id>/")
@require_auth(event=False)
@bp.response(200, EventSchema)
@documented(bp, errors=(404,))
def get_event(event_id: uuid.UUID) -> Event:
    """The event of the caller's token (a platform admin: any event)."""
    return event_for(event_id)


def _change(event_id: uuid.UUID, *, partial: bool) -> Event:
    identity = current_identity()
    event = event_for(event_id)
    operations.require_gestionnaire(identity, event.id)
    with _uploads(partial=partial) as (values, files):
        replaced = operations.update_event(identity, event, values, files)
        db.session.commit()
    _remove_files(replaced)
    return event


@bp.put("/api/events/<uuid:event_id>/")
@require_auth(event=False)
@bp.response(200, EventSchema)
@bp.doc(requestBody=_BODY)
@documented(bp, errors=(400, 403, 404, 413, 415))
def replace_event(event_id: uuid.UUID) -> Event:
    """Change the event, every field given. A gestionnaire of the event."""
    return _change(event_id, partial=False)


@bp.patch("/api/events/<uuid:event_id>/")
@require_auth(event=False)
@bp.response(200, EventSchema)
@bp.doc(requestBody=_PATCH_BODY)
@documented(bp, errors=(400, 403, 404, 413, 415))
def update_event(event_id: uuid.UUID) -> Event:
    """Change some of the event's fields or files (a form may send only files)."""
    return _change(event_id, partial=True)


@bp.delete("/api/events/<uuid:event_id>/")
@require_auth(event=False)
@bp.response(204)
@bp.alt_response(409, schema=ConflictSchema, description="In use: the counts say by what")
@documented(bp, errors=(400, 403, 404))
def delete_event(event_id: uuid.UUID) -> ResponseReturnValue:
    """Delete an event without scans, kiosks or payments (else 409: deactivate it)."""
    identity = current_identity()
    event = event_for(event_id)
    files = operations.delete_event(identity, event)
    db.session.commit()
    _remove_files(files)
    return "", 204


@bp.get("/api/events/<uuid:event_id>/statistics/")
@require_auth(event=False)
@bp.response(200, EventStatisticsSchema)
@documented(bp, errors=(400, 403, 404))
def event_statistics(event_id: uuid.UUID) -> dict[str, int]:
    """The seed's event statistics; any member of the event (a platform admin: any)."""
    identity = current_identity()
    event = event_for(event_id)
    if not _is_admin(identity) and not identity.has(IS_EVENT_MEMBER):
        raise APIError(403, "You do not have permission to perform this action")
    return operations.event_statistics(event.id)


@bp.get("/api/events/<uuid:event_id>/log/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(LogArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(LogEntrySchema))
@documented(bp, errors=(400, 403, 404))
def event_log(event_id: uuid.UUID, **args: Any) -> dict[str, Any]:
    """Who did what in the event, newest first. Gestionnaires of the event."""
    identity = current_identity()
    if event_id != identity.event_id:
        raise APIError(404, "Event not found")
    stmt = log_query(
        event_id,
        obj_type=args.get("obj_type"),
        obj_id=args.get("obj_id"),
        actor_id=args.get("actor"),
    )
    return paginate(stmt, entry_dict, args=args)
