"""Contact detail: a contact's status and why, its records side by side, its history."""

from healthdesk.ui.detail.detail_view import ContactDetailView

__all__ = ["ContactDetailView"]
