"""Errors raised by the store."""


class StorageError(Exception):
    """Base class for store failures."""


class InvalidShopName(StorageError, ValueError):
    """A shop name that cannot safely become a folder name."""


class UnknownShop(StorageError, LookupError):
    """No store exists for this shop."""


class MissingKeyColumns(StorageError, ValueError):
    """Records offered for a keyed write lack the table's key columns."""


class RetentionSettingError(StorageError, ValueError):
    """A shop's event retention period that is not a whole number of months in range."""


class InvalidValue(StorageError, ValueError):
    """A value the store refuses (an unknown status, platform, kind or column)."""


class ExportError(StorageError):
    """A shop's data cannot be exported as asked (a missing writer library)."""
