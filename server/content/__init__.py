"""Content: annonces and session questions."""
