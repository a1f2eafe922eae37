"""The store's notion of now, as ISO-8601 UTC text: one format everywhere so text sorts as time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_iso() -> str:
    """Current UTC time as 'YYYY-MM-DDTHH:MM:SS'."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def to_iso(moment: datetime) -> str:
    """A datetime as the store's UTC text; naive datetimes are taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
