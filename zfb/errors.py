"""Exceptions and warnings raised by zfb.

Every error a user can fix from its message derives from :class:`ZfbError`.
Validation errors carry the full list of problems found, each naming the file,
row, column, value and the rule it broke, so that a whole file can be fixed in
one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "InfeasibleError",
    "InputError",
    "Problem",
    "SheetWarning",
    "SolverError",
    "UnknownCauseError",
    "ValidationError",
    "ZfbError",
    "ZfbWarning",
]


class ZfbError(Exception):
    """Base class of every error zfb raises on purpose."""


class ZfbWarning(UserWarning):
    """Base class of zfb's warnings: something the user should act on."""


class SheetWarning(ZfbWarning):
    """A workbook has more than one sheet with data and only one was read.

    The message names the sheet read and the others; choose one with the
    ``sheet`` argument of :func:`zfb.read_table` (``--sheet`` on the command
    line) to read another, or to silence the warning.
    """


class ConfigError(ZfbError):
    """A setting zfb needs is missing or wrong (for example no pseudonym key)."""


class InputError(ZfbError):
    """A file cannot be read at all: missing, wrong format or wrong encoding."""


class SolverError(ZfbError):
    """A solver failed or returned a status zfb cannot use."""


class InfeasibleError(ZfbError):
    """The request has no solution; the message says which constraint emptied it."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input table.

    Parameters
    ----------
    file : str
        Name of the file (or ``"<DataFrame>"`` for in-memory input).
    row : int or None
        Row number as a person sees it in a spreadsheet: the header is row 1,
        the first record row 2. ``None`` for a problem with the whole table.
    column : str or None
        Column as named in the file (its original header).
    value : str
        The offending value, already masked when it is personal data.
    rule : str
        The rule that was broken, in plain words.
    """

    file: str
    row: int | None
    column: str | None
    value: str
    rule: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        value = f" value {self.value!r}:" if self.value != "" else ""
        return f"{where}:{value} {self.rule}"


class ValidationError(ZfbError):
    """One or more problems in an input table; nothing was written.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, in file order.
    """

    def __init__(self, problems: Iterable[Problem], limit: int = 50) -> None:
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        lines = [str(p) for p in self.problems[:limit]]
        if n > limit:
            lines.append(f"... and {n - limit} more problem(s)")
        head = f"{n} problem(s) found in the input; nothing was written:"
        super().__init__("\n".join([head, *("  " + s for s in lines)]))

    def to_frame(self):
        """Return the problems as a DataFrame (file, row, column, value, rule)."""
        import pandas as pd

        return pd.DataFrame(
            [vars(p) for p in self.problems],
            columns=["file", "row", "column", "value", "rule"],
        )


class UnknownCauseError(ZfbError, LookupError):
    """A cause label matched no code, name or alias of the taxonomy.

    Attributes
    ----------
    label : str
        The label that was looked up.
    suggestions : list of str
        The nearest known labels, best first (may be empty).
    """

    def __init__(self, label: str, suggestions: Sequence[str] = ()) -> None:
        self.label = label
        self.suggestions = list(suggestions)
        msg = f"unknown cause {label!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions)
            msg += "?"
        else:
            msg += "; run `zfb causes` to list the known causes"
        super().__init__(msg)
