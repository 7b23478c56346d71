"""BadgeGate's pure-Python core, shared by the sync server and the kiosks.

Everything here imports the standard library only, so that the server and an
offline kiosk give the same answer for the same data.
"""
