"""Errors raised by connectors: outside platforms and file feeds."""


class ConnectorError(Exception):
    """Base class for connector failures."""


class FeedError(ConnectorError):
    """A feed file as a whole cannot be imported (not one bad row: those are rejected)."""


class UnreadableFeed(FeedError):
    """The file is missing, unreadable, corrupt (bad gzip) or empty."""


class UnknownFeedFormat(FeedError):
    """The header matches no format for this kind of data, or not the format asked for."""


class RowRejected(ConnectorError):
    """One row is malformed; the message is the reason shown to the user (without its line)."""
