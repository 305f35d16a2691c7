"""Operations of the REST API beyond the task service (details, listings, comments, hot fixes)."""
