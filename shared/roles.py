"""Roles a user can hold in an event (the seed's ``UserEventAssignment.role``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    GESTIONNAIRE = "gestionnaire_des_salles"
    CONTROLLEUR = "controlleur_des_badges"
    PARTICIPANT = "participant"
    EXPOSANT = "exposant"
    ORGANISATEUR = "organisateur"


ALL_ROLES: frozenset[str] = frozenset(r.value for r in Role)

#: Roles that work the event: they pass doors on their assignment alone.
STAFF_ROLES: frozenset[str] = frozenset(
    {Role.GESTIONNAIRE.value, Role.CONTROLLEUR.value, Role.ORGANISATEUR.value}
)

#: Roles that scan badges at a door (the seed's "QR Codes / Verify" row).
SCANNER_ROLES: frozenset[str] = frozenset({Role.GESTIONNAIRE.value, Role.CONTROLLEUR.value})
