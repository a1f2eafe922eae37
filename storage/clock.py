"""The store's notion of now, as ISO-8601 UTC text: one format everywhere so text sorts as time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_iso() -> str:
    """Current UTC time as 'YYYY-MM-DDTHH:MM:SS'."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def from_iso(text: str) -> datetime:
    """Store text ('2026-01-02T03:04:05', optionally with an offset or Z) as an aware UTC
    datetime; ValueError when it is not ISO-8601."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_iso(moment: datetime) -> str:
    """A datetime as the store's UTC text; naive datetimes are taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
