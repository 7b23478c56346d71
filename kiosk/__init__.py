"""The offline kiosk: a local copy of what a door or a booth needs, decisions made
locally through ``shared.decision``, a durable outbox of scans, and a sync loop.

Modules: :mod:`kiosk.store` (SQLite), :mod:`kiosk.decide` (one scan),
:mod:`kiosk.client` (HTTP), :mod:`kiosk.sync` (pull/push, background loop),
:mod:`kiosk.cli` (``badgegate-kiosk``). The kiosk imports ``shared`` and never
``server``: what crosses between them is JSON over HTTP.
"""
