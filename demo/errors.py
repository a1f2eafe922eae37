"""Errors of the demo generators."""


class DemoError(ValueError):
    """The demo shop cannot be generated as asked (bad sizes, or in the wrong order)."""
