"""The status lists: a table model over the database and its columns."""
