"""Errors raised while reading settings."""


class ConfigError(ValueError):
    """One or more settings are invalid; the message lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))
