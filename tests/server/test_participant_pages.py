"""Deep pages of the participants list start from cached anchors
(``server.people.anchors``): after any change of the order, by any writer,
every page is the page a plain OFFSET gives. SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, update

from server.extensions import db
from server.models import EventTally, Participant, User
from server.people import anchors
from tests.conftest import AuthActions, Factory, Member

URL = "/api/participants/"


def _badges_in_order(event_id: uuid.UUID) -> list[str]:
    return sorted(
        db.session.scalars(select(Participant.badge_number).where(Participant.event_id == event_id))
    )


def _all_pages(client: FlaskClient, auth: AuthActions, g: Member, size: int) -> list[list[str]]:
    pages = []
    page = 1
    while True:
        r = client.get(URL, query_string={"page": page, "page_size": size}, headers=auth.headers(g))
        assert r.status_code == 200, r.json
        pages.append([p["badge_number"] for p in r.json["results"]])
        if r.json["next"] is None:
            return pages
        page += 1


@pytest.mark.parametrize("seed", [1, 2])
def test_every_page_is_the_offset_page_after_any_change_of_the_order(
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    monkeypatch.setattr(anchors, "STRIDE", 4)  # anchors after a few rows already
    rng = random.Random(seed)
    world = make.world()
    g = world.members["gestionnaire_des_salles"]
    elsewhere = make.event()
    event_id = world.event_id
    counter = iter(range(10_000))

    def add(n: int) -> None:
        """Participants by a Core insert, as a bulk import writes them."""
        users = []
        for _ in range(n):
            i = next(counter)
            users.append(
                User(username=f"p{seed}-{i}", email=f"p{seed}-{i}@x.org", password_hash="x")
            )
        db.session.add_all(users)
        db.session.flush()
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": u.id,
                "event_id": event_id,
                "badge_number": f"N{rng.randrange(10**6):06d}-{u.id}",
            }
            for u in users
        ]
        db.session.execute(insert(Participant.__table__), rows)

    with make.app.app_context():
        add(30)
        db.session.commit()
    for step in range(14):
        size = rng.choice([2, 3, 5])
        with make.app.app_context():
            want = _badges_in_order(event_id)
        pages = _all_pages(client, auth, g, size)
        assert pages == [want[i : i + size] for i in range(0, len(want), size)] or (
            not want and pages == [[]]
        ), f"step {step}"
        # a page past the end is empty
        past = client.get(
            URL, query_string={"page": len(pages) + 3, "page_size": size}, headers=auth.headers(g)
        )
        assert past.status_code == 200 and past.json["results"] == []
        with make.app.app_context():
            people = db.session.scalars(
                select(Participant).where(Participant.event_id == event_id)
            ).all()
            kind = step % 5
            if kind == 0:
                add(rng.randint(1, 6))
            elif kind == 1:  # renumbered: the order changes, the count does not
                p = rng.choice(people)
                db.session.execute(
                    update(Participant)
                    .where(Participant.id == p.id)
                    .values(badge_number=f"A{rng.randrange(10**6):06d}")
                )
            elif kind == 2:
                db.session.execute(
                    delete(Participant).where(Participant.id == rng.choice(people).id)
                )
            elif kind == 3:  # moved to another event
                rng.choice(people).event_id = elsewhere
            else:  # through the ORM, several at once
                for p in rng.sample(people, 3):
                    p.badge_number = f"Z{rng.randrange(10**6):06d}-{p.user_id}"
            db.session.commit()


def test_the_order_tally_moves_only_when_the_order_changes(make: Factory) -> None:
    event_id = make.event()
    other = make.event()

    def version(eid: uuid.UUID) -> int:
        value = db.session.scalar(
            select(EventTally.value).where(
                EventTally.event_id == eid, EventTally.name == anchors.ORDER_TALLY
            )
        )
        return int(value or 0)

    member = make.member(event_id, "participant")
    with make.app.app_context():
        v0 = version(event_id)
        assert v0 >= 1
        p: Any = db.session.get(Participant, member.participant_id)
        p.organisation = "Sonatrach"  # not the order
        db.session.commit()
        assert version(event_id) == v0
        db.session.execute(
            update(Participant)
            .where(Participant.id == p.id)
            .values(badge_number=Participant.badge_number)  # set, unchanged
        )
        db.session.commit()
        assert version(event_id) == v0
        p.badge_number = "RENUMBERED"
        db.session.commit()
        assert version(event_id) == v0 + 1
        p.event_id = other
        db.session.commit()
        assert (version(event_id), version(other)) == (v0 + 2, 1)
        db.session.rollback()
        db.session.execute(delete(Participant).where(Participant.id == p.id))
        db.session.commit()
        assert version(other) == 2
