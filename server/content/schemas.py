"""Announcements and session questions: request bodies, filters and answers
(the seed's fields)."""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import OneOf

from server.content.models import ANNONCE_TARGETS
from server.schema import (
    Instant,
    JsonUUID,
    PageArgs,
    QueryBool,
    QueryChoice,
    QueryInt,
    QueryUUID,
    Schema,
    Text,
)

#: the longest title (the column's) and question the seed allows
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_QUESTION = 1000
MAX_ANSWER = 10_000
MAX_SEARCH = 200


class AnnonceSchema(Schema):
    id = fields.UUID(required=True)
    event = fields.UUID(attribute="event_id", required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    target = fields.String(required=True, metadata={"enum": list(ANNONCE_TARGETS)})
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


class AnnoncePatchSchema(Schema):
    """The fields a PATCH may change."""

    title = Text(max_len=MAX_TITLE, controls="line")
    description = Text(max_len=MAX_DESCRIPTION, controls="text", allow_blank=True)
    target = Text(
        validate=OneOf(ANNONCE_TARGETS, error="must be one of: " + ", ".join(ANNONCE_TARGETS)),
        metadata={"description": "who sees it; all by default"},
    )


class AnnonceInSchema(AnnoncePatchSchema):
    """A new or rewritten announcement (POST, PUT)."""

    title = Text(required=True, max_len=MAX_TITLE, controls="line")


class AnnonceListArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})
    target = QueryChoice(ANNONCE_TARGETS)
    created_by = QueryInt(metadata={"description": "the author's user id"})
    search = Text(
        max_len=MAX_SEARCH,
        controls="line",
        metadata={"description": "in the title or description, any case"},
    )


QUESTION_ORDERINGS = ("asked_at", "-asked_at", "answered_at", "-answered_at")


class SessionQuestionSchema(Schema):
    id = fields.UUID(required=True)
    session = fields.UUID(attribute="session_id", required=True)
    session_title = fields.String(attribute="session.title", required=True)
    participant = fields.UUID(attribute="participant_id", required=True)
    participant_name = fields.String(required=True)
    question_text = fields.String(required=True)
    is_answered = fields.Boolean(required=True)
    answer_text = fields.String(required=True)
    answered_by = fields.Integer(attribute="answered_by_id", required=True, allow_none=True)
    answered_by_name = fields.String(required=True, allow_none=True)
    asked_at = Instant(required=True)
    answered_at = Instant(required=True, allow_none=True)


class QuestionPatchSchema(Schema):
    """What the asker (or a gestionnaire) may change: the question's text."""

    question_text = Text(max_len=MAX_QUESTION, controls="text")


class QuestionEditSchema(Schema):
    question_text = Text(required=True, max_len=MAX_QUESTION, controls="text")


class QuestionInSchema(QuestionEditSchema):
    """A question: the participant is the caller's record in the token's event."""

    session = JsonUUID(required=True, metadata={"description": "a session of the caller's event"})


class AnswerInSchema(Schema):
    answer_text = Text(required=True, max_len=MAX_ANSWER, controls="text")


class QuestionListArgs(PageArgs):
    session = QueryUUID(metadata={"description": "a session's id"})
    session_id = QueryUUID(metadata={"description": "the same, by its other name"})
    participant = QueryUUID(metadata={"description": "a participant's id"})
    is_answered = QueryBool()
    ordering = QueryChoice(QUESTION_ORDERINGS, metadata={"description": "-asked_at by default"})
