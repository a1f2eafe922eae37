"""Errors of email block building and rendering."""

from __future__ import annotations


class EmailBlockError(Exception):
    """Base class of email block errors."""


class UnknownBlockKind(EmailBlockError):
    """A block kind (campaign) that the registry does not have."""


class BlockRenderError(EmailBlockError):
    """A template failed to render or its CSS failed to inline."""
