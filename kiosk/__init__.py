"""The offline kiosk: a local copy of what a door or a booth needs, decisions made
locally through ``shared.decision``, a durable outbox of scans, and a sync loop.

Modules: :mod:`kiosk.store` (SQLite), :mod:`kiosk.decide` (one scan),
:mod:`kiosk.client` (HTTP), :mod:`kiosk.sync` (pull/push, background loop),
:mod:`kiosk.cli` (``badgegate-kiosk``). The camera kiosk (``run``): frames from
:mod:`kiosk.sources`, QR codes read by :mod:`kiosk.decoders`, debounced and
recorded by :mod:`kiosk.scanner`, shown by :mod:`kiosk.screen` in the words of
:mod:`kiosk.i18n`, with tones from :mod:`kiosk.sound`, all wired by
:mod:`kiosk.camera`; :mod:`kiosk.demo_video` makes a video for demos without a
webcam. The kiosk imports ``shared`` and never ``server``: what crosses between
them is JSON over HTTP.
"""
