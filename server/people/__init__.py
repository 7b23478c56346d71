"""People: users, their profiles and badges, their roles in events."""
