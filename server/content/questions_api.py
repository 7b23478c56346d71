"""Session questions (seed: Session Questions (Q&A System) Endpoints)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.typing import ResponseReturnValue

from server.auth.permissions import (
    IS_EVENT_MEMBER,
    IS_GESTIONNAIRE,
    current_identity,
    require_auth,
)
from server.content import operations
from server.content.models import SessionQuestion
from server.content.schemas import (
    AnswerInSchema,
    QuestionEditSchema,
    QuestionInSchema,
    QuestionListArgs,
    QuestionPatchSchema,
    SessionQuestionSchema,
)
from server.extensions import db
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of

bp = Blueprint("session_questions", __name__, description="Q&A on the sessions of the event")

_ORDER = {
    "asked_at": (SessionQuestion.asked_at.asc(), SessionQuestion.id.asc()),
    "-asked_at": (SessionQuestion.asked_at.desc(), SessionQuestion.id.desc()),
    "answered_at": (SessionQuestion.answered_at.asc().nulls_last(), SessionQuestion.id.asc()),
    "-answered_at": (SessionQuestion.answered_at.desc().nulls_last(), SessionQuestion.id.desc()),
}


@bp.get("/api/session-questions/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(QuestionListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(SessionQuestionSchema))
@documented(bp, errors=(400, 403))
def list_questions(**args: Any) -> dict[str, Any]:
    """The questions on the sessions of the caller's event, newest first."""
    stmt = operations.questions_of_event(current_identity().require_event())
    for name in ("session", "session_id"):
        if args.get(name) is not None:
            stmt = stmt.where(SessionQuestion.session_id == args[name])
    if args.get("participant") is not None:
        stmt = stmt.where(SessionQuestion.participant_id == args["participant"])
    if args.get("is_answered") is not None:
        stmt = stmt.where(SessionQuestion.is_answered.is_(args["is_answered"]))
    stmt = stmt.order_by(*_ORDER[args.get("ordering", "-asked_at")])
    return paginate(stmt, args=args)


@bp.post("/api/session-questions/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(QuestionInSchema)
@bp.response(201, SessionQuestionSchema)
@documented(bp, errors=(400, 403, 415))
def ask_question(data: dict[str, Any]) -> SessionQuestion:
    """Ask, as the caller's participant record in the event (the seed's 400 without one)."""
    question = operations.ask_question(current_identity(), data)
    db.session.commit()
    return question


@bp.get("/api/session-questions/<uuid:question_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(200, SessionQuestionSchema)
@documented(bp, errors=(403, 404))
def get_question(question_id: uuid.UUID) -> SessionQuestion:
    return operations.visible_question(current_identity(), question_id)


@bp.put("/api/session-questions/<uuid:question_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(QuestionEditSchema)
@bp.response(200, SessionQuestionSchema)
@documented(bp, errors=(400, 403, 404, 415))
def replace_question(data: dict[str, Any], question_id: uuid.UUID) -> SessionQuestion:
    """The asker or a gestionnaire rewrites the question."""
    question = operations.update_question(current_identity(), question_id, data)
    db.session.commit()
    return question


@bp.patch("/api/session-questions/<uuid:question_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(QuestionPatchSchema)
@bp.response(200, SessionQuestionSchema)
@documented(bp, errors=(400, 403, 404, 415))
def update_question(data: dict[str, Any], question_id: uuid.UUID) -> SessionQuestion:
    """The asker or a gestionnaire changes the question."""
    question = operations.update_question(current_identity(), question_id, data)
    db.session.commit()
    return question


@bp.delete("/api/session-questions/<uuid:question_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(204)
@documented(bp, errors=(403, 404))
def delete_question(question_id: uuid.UUID) -> ResponseReturnValue:
    """The asker or a gestionnaire deletes it."""
    operations.delete_question(current_identity(), question_id)
    db.session.commit()
    return ""


@bp.post("/api/session-questions/<uuid:question_id>/answer/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(AnswerInSchema)
@bp.response(200, SessionQuestionSchema)
@documented(bp, errors=(400, 403, 404, 415))
def answer_question(data: dict[str, Any], question_id: uuid.UUID) -> SessionQuestion:
    """A gestionnaire answers: is_answered, answered_by and answered_at are set."""
    question = operations.answer_question(current_identity(), question_id, data["answer_text"])
    db.session.commit()
    return question
