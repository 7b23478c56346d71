"""Staffing: staff posted to rooms for time slots (room assignments)."""
