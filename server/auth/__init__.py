"""Authentication (JWT with event context) and the seed's permission classes."""
