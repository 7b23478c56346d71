"""Access: verifying a badge at a door, session access, QR badges, statistics."""
