"""The activity timeline: the event history of a connection, most recent first."""
