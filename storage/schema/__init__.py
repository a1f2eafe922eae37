"""Migrations after the first, one module per concern, each holding its SQL as ``SQL``.

They are listed in order in ``storage.migrations.MIGRATIONS``; like the first one, a landed
migration is never edited: add a new module and append it there.
"""
