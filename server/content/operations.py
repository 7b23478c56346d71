"""What changes announcements and session questions: one function per use case,
called by the API (and the dashboard), with its permission checks and its
action-log entry in the caller's transaction (flushed, never committed here).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from server import actionlog
from server.auth.permissions import IS_GESTIONNAIRE, Identity, is_annonce_owner
from server.content.models import Annonce, SessionQuestion
from server.errors import APIError, not_found, validation_error
from server.extensions import db
from server.models import EventSession, Participant
from shared.roles import Role
from shared.timefmt import utcnow

FORBIDDEN = "You do not have permission to perform this action"

# ---------------------------------------------------------------------------
# announcements

ANNONCE_FIELDS = ("event_id", "title", "description", "target", "created_by_id")

#: the target each role reads besides ``all`` (gestionnaires read every target)
ROLE_TARGET = {
    Role.PARTICIPANT.value: "participants",
    Role.EXPOSANT.value: "exposants",
    Role.CONTROLLEUR.value: "controlleurs",
}


def annonce_visibility(identity: Identity) -> ColumnElement[bool] | None:
    """What the caller may read of their event's announcements: those for
    ``all``, for their role, and their own; None: every one (gestionnaires)."""
    if identity.has(IS_GESTIONNAIRE):
        return None
    targets = ["all"]
    if identity.role in ROLE_TARGET:
        targets.append(ROLE_TARGET[identity.role])
    return or_(Annonce.target.in_(targets), Annonce.created_by_id == identity.user_id)


def visible_annonce(identity: Identity, annonce_id: uuid.UUID) -> Annonce:
    """One announcement the caller may read; another event's, or one aimed at
    another role, does not exist for them (404)."""
    stmt = select(Annonce).where(Annonce.id == annonce_id)
    stmt = stmt.where(Annonce.event_id == identity.require_event())
    rule = annonce_visibility(identity)
    if rule is not None:
        stmt = stmt.where(rule)
    annonce = db.session.scalar(stmt)
    if annonce is None:
        raise not_found("Announcement")
    return annonce


def create_annonce(identity: Identity, data: Mapping[str, Any]) -> Annonce:
    """Any member of the event announces, to any audience of it."""
    annonce = Annonce(
        id=uuid.uuid4(),
        event_id=identity.require_event(),
        title=data["title"].strip(),
        description=data.get("description", ""),
        target=data.get("target", "all"),
        created_by_id=identity.user_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(annonce)
    actionlog.record(
        db.session,
        event_id=annonce.event_id,
        actor_id=identity.user_id,
        action="annonce.create",
        obj_type="annonce",
        obj_id=annonce.id,
        before=None,
        after=actionlog.snapshot(annonce, ANNONCE_FIELDS),
    )
    db.session.flush()
    return annonce


def _owned_annonce(identity: Identity, annonce_id: uuid.UUID) -> Annonce:
    annonce = visible_annonce(identity, annonce_id)
    if not is_annonce_owner(identity, annonce.created_by_id, annonce.event_id):
        raise APIError(403, FORBIDDEN)
    return annonce


def update_annonce(identity: Identity, annonce_id: uuid.UUID, data: Mapping[str, Any]) -> Annonce:
    """The author or a gestionnaire changes the fields given."""
    annonce = _owned_annonce(identity, annonce_id)
    before = actionlog.snapshot(annonce, ANNONCE_FIELDS)
    if "title" in data:
        annonce.title = data["title"].strip()
    if "description" in data:
        annonce.description = data["description"]
    if "target" in data:
        annonce.target = data["target"]
    after = actionlog.snapshot(annonce, ANNONCE_FIELDS)
    if after != before:
        annonce.updated_at = utcnow()
        actionlog.record(
            db.session,
            event_id=annonce.event_id,
            actor_id=identity.user_id,
            action="annonce.update",
            obj_type="annonce",
            obj_id=annonce.id,
            before=before,
            after=after,
        )
    db.session.flush()
    return annonce


def delete_annonce(identity: Identity, annonce_id: uuid.UUID) -> None:
    """The author or a gestionnaire deletes it (nothing refers to an announcement)."""
    annonce = _owned_annonce(identity, annonce_id)
    actionlog.record(
        db.session,
        event_id=annonce.event_id,
        actor_id=identity.user_id,
        action="annonce.delete",
        obj_type="annonce",
        obj_id=annonce.id,
        before=actionlog.snapshot(annonce, ANNONCE_FIELDS),
        after=None,
    )
    db.session.delete(annonce)
    db.session.flush()


# ---------------------------------------------------------------------------
# session questions

QUESTION_FIELDS = (
    "session_id",
    "participant_id",
    "question_text",
    "is_answered",
    "answer_text",
    "answered_by_id",
    "answered_at",
)
NO_PARTICIPANT = "Participant profile not found for this event"


def questions_of_event(event_id: uuid.UUID) -> Select[tuple[SessionQuestion]]:
    """The event's questions, with what their answers show loaded alongside."""
    return (
        select(SessionQuestion)
        .join(EventSession, EventSession.id == SessionQuestion.session_id)
        .where(EventSession.event_id == event_id)
        .options(
            contains_eager(SessionQuestion.session),
            # by a second query for the page's rows: a deep page skips rows alone;
            # the askers' users joined in that query (one statement, not two)
            selectinload(SessionQuestion.participant).joinedload(Participant.user),
            selectinload(SessionQuestion.answered_by),
        )
    )


def visible_question(identity: Identity, question_id: uuid.UUID) -> SessionQuestion:
    """One question of the caller's event (every member reads them all)."""
    stmt = questions_of_event(identity.require_event()).where(SessionQuestion.id == question_id)
    question = db.session.scalar(stmt)
    if question is None:
        raise not_found("Question")
    return question


def _log_question(
    identity: Identity,
    question: SessionQuestion,
    verb: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    actionlog.record(
        db.session,
        event_id=identity.event_id,
        actor_id=identity.user_id,
        action=f"session_question.{verb}",
        obj_type="session_question",
        obj_id=question.id,
        before=before,
        after=after,
    )


def ask_question(identity: Identity, data: Mapping[str, Any]) -> SessionQuestion:
    """The caller asks, as their participant record of the event, on a session of it."""
    event_id = identity.require_event()
    session = db.session.get(EventSession, data["session"])
    if session is None or session.event_id != event_id:
        raise validation_error("session", "Session not found")
    participant_id = db.session.scalar(
        select(Participant.id).where(
            Participant.user_id == identity.user_id, Participant.event_id == event_id
        )
    )
    if participant_id is None:
        raise APIError(400, NO_PARTICIPANT, fields={"participant": NO_PARTICIPANT})
    question = SessionQuestion(
        id=uuid.uuid4(),
        session_id=session.id,
        participant_id=participant_id,
        question_text=data["question_text"],
        asked_at=utcnow(),
        is_answered=False,
        answer_text="",
    )
    db.session.add(question)
    _log_question(identity, question, "create", None, actionlog.snapshot(question, QUESTION_FIELDS))
    db.session.flush()
    return visible_question(identity, question.id)


def _owned_question(identity: Identity, question_id: uuid.UUID) -> SessionQuestion:
    question = visible_question(identity, question_id)
    if question.participant.user_id != identity.user_id and not identity.has(IS_GESTIONNAIRE):
        raise APIError(403, FORBIDDEN)
    return question


def update_question(
    identity: Identity, question_id: uuid.UUID, data: Mapping[str, Any]
) -> SessionQuestion:
    """The asker or a gestionnaire rewrites the question's text."""
    question = _owned_question(identity, question_id)
    before = actionlog.snapshot(question, QUESTION_FIELDS)
    if "question_text" in data:
        question.question_text = data["question_text"]
    after = actionlog.snapshot(question, QUESTION_FIELDS)
    if after != before:
        _log_question(identity, question, "update", before, after)
    db.session.flush()
    return question


def delete_question(identity: Identity, question_id: uuid.UUID) -> None:
    """The asker or a gestionnaire deletes it (nothing refers to a question)."""
    question = _owned_question(identity, question_id)
    _log_question(identity, question, "delete", actionlog.snapshot(question, QUESTION_FIELDS), None)
    db.session.delete(question)
    db.session.flush()


def answer_question(
    identity: Identity, question_id: uuid.UUID, answer_text: str
) -> SessionQuestion:
    """A gestionnaire answers (again: the new answer replaces the old)."""
    if not identity.has(IS_GESTIONNAIRE):
        raise APIError(403, FORBIDDEN)
    question = visible_question(identity, question_id)
    before = actionlog.snapshot(question, QUESTION_FIELDS)
    question.answer_text = answer_text
    question.is_answered = True
    question.answered_by_id = identity.user_id
    question.answered_at = utcnow()
    _log_question(
        identity, question, "answer", before, actionlog.snapshot(question, QUESTION_FIELDS)
    )
    db.session.flush()
    db.session.refresh(question, ["answered_by"])
    return question
