"""Health Desk: a desktop inspector for the health of contact-sync connections."""

__version__ = "0.1.0"
