"""Kiosks: devices, their provisioning, the sync feed and scan uploads."""
