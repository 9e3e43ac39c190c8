"""Errors caused by what a user gave us; the CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in the user's input (a path, a file's content, an option)."""


class DataError(UserError):
    """Data that cannot be read or does not fit the model."""


class GateFailure(Exception):
    """A check the user asked for failed (for example int8 agreement below the threshold)."""
