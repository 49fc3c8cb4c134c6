"""The colours of statuses and activity in charts (the window's overview and the support
report), one place so that a chart on screen and on paper agree. Pure Python: hex text.

The status colours follow the status icons (blue in sync, red failing, greys for what
does not sync), made distinct enough to tell five segments apart side by side.
"""

from __future__ import annotations

from typing import Final

from healthdesk.core.model import Outcome, Status

__all__ = ["ACTIVITY_COLORS", "ACTIVITY_LABELS", "ACTIVITY_OUTCOMES", "STATUS_COLORS"]

STATUS_COLORS: Final = {
    Status.IN_SYNC: "#1a73e8",
    Status.EXCLUDED: "#bdc1c6",
    Status.DUPLICATE: "#80868b",
    Status.FAILING: "#d93025",
    Status.PENDING: "#f29900",
}

#: The outcomes the activity chart shows per day, bottom to top.
ACTIVITY_OUTCOMES: Final = (Outcome.CREATED, Outcome.UPDATED, Outcome.FAILED)
ACTIVITY_LABELS: Final = {
    Outcome.CREATED: "Created",
    Outcome.UPDATED: "Updated",
    Outcome.FAILED: "Failed",
}
ACTIVITY_COLORS: Final = {
    Outcome.CREATED: "#1a73e8",
    Outcome.UPDATED: "#8ab4f8",
    Outcome.FAILED: "#d93025",
}
