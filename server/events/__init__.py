"""Events, their rooms and sessions."""
