"""Errors for platform payloads (webhook bodies, REST objects) and their signatures.

Kept apart from connectors/errors.py (the file-feed errors) so webhook work does not touch
the feed importers' module; both share the ConnectorError base.
"""

from connectors.errors import ConnectorError


class PayloadError(ConnectorError):
    """A platform payload is malformed; the message says which field and why.

    The receipt processor stores this message on the rejected receipt, so it must be
    precise enough to fix the cause without reading the raw body.
    """


class SignatureMismatch(ConnectorError):
    """A delivery's HMAC is missing, wrong, or there is no secret to check it with."""
