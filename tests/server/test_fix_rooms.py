"""``badgegate-server fix-room-assignments``: list staff without a room, give one its room."""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import UserEventAssignment
from shared.roles import Role
from tests.conftest import Factory


def _assignment(app: Flask, user_id: int, event_id: uuid.UUID) -> UserEventAssignment:
    with app.app_context():
        found = db.session.scalar(
            select(UserEventAssignment).where(
                UserEventAssignment.user_id == user_id, UserEventAssignment.event_id == event_id
            )
        )
        assert found is not None
        db.session.expunge(found)
        return found


def _set_meta(app: Flask, assignment_id: uuid.UUID, meta: dict[str, str]) -> None:
    with app.app_context():
        row = db.session.get(UserEventAssignment, assignment_id)
        assert row is not None
        row.meta = meta
        db.session.commit()


def test_lists_staff_without_a_room_of_their_event(
    app: Flask, runner: FlaskCliRunner, make: Factory
) -> None:
    world = make.world()
    other_event = make.event("Other")
    other_room = make.room(other_event)
    controller = world.members[Role.CONTROLLEUR.value]
    gestionnaire = world.members[Role.GESTIONNAIRE.value]
    fine = make.member(world.event_id, Role.CONTROLLEUR.value)
    stale = _assignment(app, gestionnaire.user_id, world.event_id)
    _set_meta(app, stale.id, {"assigned_room_id": str(other_room)})  # another event's room
    _set_meta(app, _assignment(app, fine.user_id, world.event_id).id,
              {"assigned_room_id": str(world.rooms[0])})  # fmt: skip

    out = runner.invoke(args=["fix-room-assignments"])
    assert out.exit_code == 0, out.output
    assert str(_assignment(app, controller.user_id, world.event_id).id) in out.output
    assert f"{stale.id}" in out.output and f"names {other_room}" in out.output
    assert fine.email not in out.output
    # participants and exposants are not staff: never listed
    for role in (Role.PARTICIPANT.value, Role.EXPOSANT.value):
        assert world.members[role].email not in out.output


def test_gives_an_assignment_its_room_logged_and_dry_run_changes_nothing(
    app: Flask, runner: FlaskCliRunner, make: Factory
) -> None:
    world = make.world()
    controller = world.members[Role.CONTROLLEUR.value]
    assignment = _assignment(app, controller.user_id, world.event_id)
    args = ["fix-room-assignments", "--assignment-id", str(assignment.id)]
    args += ["--room-id", str(world.rooms[1])]

    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0 and "would assign" in dry.output, dry.output
    assert _assignment(app, controller.user_id, world.event_id).meta.get("assigned_room_id") is None

    done = runner.invoke(args=args)
    assert done.exit_code == 0 and "assigned" in done.output, done.output
    after = _assignment(app, controller.user_id, world.event_id)
    assert after.meta["assigned_room_id"] == str(world.rooms[1])
    with app.app_context():
        entries = db.session.scalars(select(ActionLogEntry)).all()
        assert [(e.action, e.obj_id, e.before, e.after) for e in entries] == [
            (
                "assignment.room_fixed",
                str(assignment.id),
                {"assigned_room_id": None},
                {"assigned_room_id": str(world.rooms[1])},
            )
        ]
        assert entries[0].event_id == world.event_id
    listed = runner.invoke(args=["fix-room-assignments"])
    assert str(assignment.id) not in listed.output


def test_refuses_a_room_of_another_event_a_non_staff_role_and_half_the_options(
    app: Flask, runner: FlaskCliRunner, make: Factory
) -> None:
    world = make.world()
    other_room = make.room(make.event("Other"))
    controller = _assignment(app, world.members[Role.CONTROLLEUR.value].user_id, world.event_id)
    participant = _assignment(app, world.members[Role.PARTICIPANT.value].user_id, world.event_id)
    cases = [
        ([str(controller.id), str(other_room)], "not a room of this assignment's event"),
        ([str(participant.id), str(world.rooms[0])], "only staff roles"),
        ([str(uuid.uuid4()), str(world.rooms[0])], "no assignment"),
    ]
    for (a, r), said in cases:
        out = runner.invoke(args=["fix-room-assignments", "--assignment-id", a, "--room-id", r])
        assert out.exit_code == 1 and said in out.output, out.output
    half = runner.invoke(args=["fix-room-assignments", "--assignment-id", str(controller.id)])
    assert half.exit_code == 2 and "go together" in half.output
    bad = runner.invoke(args=["fix-room-assignments", "--assignment-id", "25", "--room-id", "x"])
    assert bad.exit_code == 2 and "UUID" in bad.output
    with app.app_context():
        assert db.session.scalars(select(ActionLogEntry)).all() == []
    assert _assignment(app, controller.user_id, world.event_id).meta.get("assigned_room_id") is None
