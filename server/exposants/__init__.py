"""Exposants: booth scans and leads."""
