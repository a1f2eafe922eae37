"""Errors raised by the engine: one base class, a few specific ones callers can catch."""


class EngineError(Exception):
    """Base class for engine failures."""


class ModelFitError(EngineError):
    """Training data the models cannot be fitted on (NaNs, impossible shapes)."""


class InputError(EngineError, ValueError):
    """A bad argument at a public engine function (unknown context, bad weights, bad k)."""


class ModelsNotTrained(EngineError, LookupError):
    """No saved models in the directory asked for: run `shoprec train` first."""


class ArtifactError(EngineError):
    """Saved models that cannot be read back (missing array, wrong version, corrupt file)."""


class SlotSpecError(EngineError, ValueError):
    """The slot table contradicts itself (a duplicate, two defaults, an unknown feature)."""
