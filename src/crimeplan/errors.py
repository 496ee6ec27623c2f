"""Errors a user can act on: each names the file, the line or field, and what was expected."""

from __future__ import annotations


class CrimeplanError(Exception):
    """Base class for errors meant to be shown to a user as they are."""


class InputError(CrimeplanError):
    """A file that cannot be read as any supported publication, or not as a whole.

    The whole file is refused: nothing of it is loaded.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.problem = problem
        self.line = line
        self.field = field
        self.expected = expected
        where = file
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        message = f"{where}: {problem}"
        if expected:
            message += f"; expected {expected}"
        super().__init__(message)


class UnrecognisedFile(InputError):
    """A file whose header and shape match none of the catalogue's datasets."""


class NotLoaded(CrimeplanError):
    """A question the warehouse cannot answer because the data is not loaded."""
