"""Survey mappings: turn a survey or crowdfunding table into zfb tables.

A *mapping* is a small TOML file, data and not code, that says how the rows of
someone else's table become the households (or projects) table of
``docs/data-model.md``. It is applied in four steps:

1. ``[recode]`` replaces cell values of input columns (``yes`` by ``1``);
2. ``[group]`` turns rows of individuals into households: rows that share the
   ``by`` column are one household, its household-level fields are read from
   the row that ``head`` selects, and ``[members]`` aggregates the member rows
   (counts, sums, means, minima and maxima, each with an optional condition);
3. ``[columns]`` assigns each output column: a copy or an arithmetic
   expression, a constant with the reason for it, a template, a look-up, a
   one-hot decoding or a count of list items;
4. ``[codes.<column>]`` fills a code column (``causes``, ``need_kind``,
   ``tags``) from rules, each a condition and the codes it adds, with a
   fallback for the rows where no rule fires.

Conditions and expressions are written in a small language that this module
tokenises, parses and evaluates itself, on whole columns at once; nothing in a
mapping is ever run as Python. ``docs/surveys.md`` describes the file format
with a worked example.
"""

from __future__ import annotations

import difflib
import logging
import operator
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, Problem, ValidationError, ZfbError
from .schema import canonical_header, column_specs
from .taxonomy import Taxonomy, load_taxonomy, normalize_label

__all__ = [
    "Condition",
    "Expression",
    "ExpressionError",
    "Mapping",
    "MappingError",
    "MappingIssue",
    "apply_mapping",
    "load_mapping",
    "parse_condition",
    "parse_expression",
    "shipped_mappings",
]

logger = logging.getLogger(__name__)

#: Longest condition or expression accepted, in characters.
MAX_LENGTH = 4000
#: Deepest nesting of parentheses and operators accepted.
MAX_DEPTH = 64
# cell values that mean "no value" besides a blank cell
_MISSING_MARKERS = tuple(
    form
    for word in ("NA", "N/A", "NaN", "null")
    for form in {word, word.lower(), word.upper(), word.capitalize()}
)


# errors
class ExpressionError(ZfbError, ValueError):
    """A condition or expression is not a sentence of the mapping language.

    Attributes
    ----------
    text : str
        The condition or expression as written.
    position : int
        0-based character position of the fault in ``text``.
    reason : str
        What is wrong, in plain words.
    """

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(
            f"{reason} (at character {position + 1} of {text!r}):\n"
            f"  {text}\n  {' ' * position}^"
        )


@dataclass(frozen=True)
class MappingIssue:
    """One problem of a mapping file.

    Parameters
    ----------
    file : str
        The mapping file (``zfb/data/mappings/NAME.toml`` for a shipped one).
    key : str
        Where in the file, for example ``"codes.causes, rule 3, when"``.
    text : str
        The value at fault as written (a condition, a code...), or ``""``.
    reason : str
        What is wrong and how to fix it.
    """

    file: str
    key: str
    text: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        if self.text:
            where += f" = {self.text!r}"
        return f"{where}: {self.reason}"


class MappingError(ConfigError):
    """A mapping file is wrong; nothing was read.

    Attributes
    ----------
    issues : list of MappingIssue
        Every problem found, each naming the file, the key and the rule.
    """

    def __init__(self, issues: Iterable[MappingIssue]) -> None:
        self.issues: list[MappingIssue] = list(issues)
        lines = [str(i) for i in self.issues]
        head = f"{len(lines)} problem(s) in the mapping:"
        super().__init__("\n".join([head, *("  " + s for s in lines)]))


# tokens
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<quoted>`[^`\n]+`)
    |(?P<name>[^\W\d]\w*)
    |(?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "contains", "is", "missing"}
_FUNCTIONS = {"min": (2, None), "max": (2, None), "abs": (1, 1)}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_HINTS = {
    "=": "use == to compare",
    "&": "join conditions with and",
    "|": "join conditions with or",
    "!": "write not, or != to compare",
    ";": "a condition is one sentence; join its parts with and / or",
    ".": "column names have no dots; quote an odd name in backticks (`a.b`)",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, end
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:80], 0, f"longer than {MAX_LENGTH} characters")
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            char = text[pos]
            if char in "\"'":
                reason = "text in quotes is not closed"
            elif char == "`":
                reason = "a backtick-quoted column name is not closed"
            else:
                reason = f"unexpected character {char!r}"
                if char in _HINTS:
                    reason += f"; {_HINTS[char]}"
            raise ExpressionError(text, pos, reason)
        kind = m.lastgroup
        value = m.group()
        if kind == "number":
            tokens.append(_Token("number", float(value), pos))
        elif kind == "string":
            body = re.sub(r"\\(.)", r"\1", value[1:-1])
            tokens.append(_Token("string", body, pos))
        elif kind == "quoted":
            tokens.append(_Token("name", value[1:-1].strip(), pos))
        elif kind == "name":
            word = "keyword" if value in _KEYWORDS else "name"
            tokens.append(_Token(word, value, pos))
        elif kind == "op":
            tokens.append(_Token("op", value, pos))
        pos = m.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


# syntax tree: value nodes
@dataclass(frozen=True)
class _Num:
    value: float


@dataclass(frozen=True)
class _Str:
    value: str


@dataclass(frozen=True)
class _Col:
    name: str


@dataclass(frozen=True)
class _Arith:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class _Neg:
    operand: Any


@dataclass(frozen=True)
class _Call:
    func: str
    args: tuple


# syntax tree: condition nodes
@dataclass(frozen=True)
class _Cmp:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class _In:
    operand: Any
    values: tuple
    negate: bool


@dataclass(frozen=True)
class _Contains:
    operand: _Col
    needles: tuple[str, ...]
    negate: bool


@dataclass(frozen=True)
class _Missing:
    operand: Any
    negate: bool


@dataclass(frozen=True)
class _Logic:
    op: str  # "and" or "or"
    items: tuple


@dataclass(frozen=True)
class _Not:
    operand: Any


_CONDITION_NODES = (_Cmp, _In, _Contains, _Missing, _Logic, _Not)


def _is_condition(node: Any) -> bool:
    return isinstance(node, _CONDITION_NODES)


def _columns_of(node: Any) -> set[str]:
    if isinstance(node, _Col):
        return {node.name}
    if isinstance(node, (_Num, _Str)):
        return set()
    out: set[str] = set()
    for name in ("left", "right", "operand"):
        if hasattr(node, name):
            out |= _columns_of(getattr(node, name))
    for name in ("args", "items"):
        for child in getattr(node, name, ()):
            out |= _columns_of(child)
    return out


class _Parser:
    """Recursive-descent parser; precedence, loosest first: ``or``, ``and``,
    ``not``, comparisons, ``+ -``, ``* /``, unary ``-``, atoms."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, reason: str, token: _Token | None = None) -> ExpressionError:
        pos = (token or self.tok).pos
        return ExpressionError(self.text, pos, reason)

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: str, what: str) -> _Token:
        if not self.at(kind, value):
            raise self.fail(f"expected {what}, found {self.describe()}")
        return self.next()

    def describe(self, tok: _Token | None = None) -> str:
        tok = tok or self.tok
        if tok.kind == "end":
            return "the end"
        if tok.kind == "string":
            return f"text {tok.value!r}"
        if tok.kind == "number":
            return f"number {tok.value:g}"
        return repr(tok.value)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")

    def finish(self, node: Any) -> Any:
        if not self.at("end"):
            raise self.fail(f"unexpected {self.describe()} after a complete sentence")
        return node

    # grammar
    def parse_or(self) -> Any:
        self.enter()
        items = [self.parse_and()]
        while self.at("keyword", "or"):
            tok = self.next()
            items.append(self.parse_and())
            self.check_conditions(items, "or", tok)
        self.depth -= 1
        return items[0] if len(items) == 1 else _Logic("or", tuple(items))

    def parse_and(self) -> Any:
        items = [self.parse_not()]
        while self.at("keyword", "and"):
            tok = self.next()
            items.append(self.parse_not())
            self.check_conditions(items, "and", tok)
        return items[0] if len(items) == 1 else _Logic("and", tuple(items))

    def check_conditions(self, items: list, word: str, tok: _Token) -> None:
        for item in items:
            if not _is_condition(item):
                raise self.fail(
                    f"{word!r} joins conditions, and one side is a value; "
                    "compare it (for example dis == 1)",
                    tok,
                )

    def parse_not(self) -> Any:
        if self.at("keyword", "not"):
            tok = self.next()
            self.enter()
            operand = self.parse_not()
            self.depth -= 1
            if not _is_condition(operand):
                raise self.fail("'not' needs a condition after it", tok)
            return _Not(operand)
        return self.parse_comparison()

    def parse_comparison(self) -> Any:
        start = self.tok
        left = self.parse_sum()
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARE:
            self.next()
            right = self.parse_sum()
            node = self.comparison(tok, left, right)
            nxt = self.tok
            if nxt.kind == "op" and nxt.value in _COMPARE:
                raise self.fail(
                    "comparisons cannot be chained; join them with and "
                    "(a < b and b < c)",
                    nxt,
                )
            return node
        negate = False
        if self.at("keyword", "not"):
            negate = True
            self.next()
            if not (self.at("keyword", "in") or self.at("keyword", "contains")):
                raise self.fail("expected 'in' or 'contains' after 'not'")
        if self.at("keyword", "in"):
            self.next()
            return self.membership(tok, left, negate)
        if self.at("keyword", "contains"):
            self.next()
            return self.contains(tok, left, negate)
        if negate:
            raise self.fail("expected 'in' or 'contains' after 'not'")
        if self.at("keyword", "is"):
            self.next()
            neg = False
            if self.at("keyword", "not"):
                self.next()
                neg = True
            self.expect("keyword", "missing", "'missing' after 'is'")
            self.check_value(left, start)
            return _Missing(left, neg)
        return left

    def check_value(self, node: Any, tok: _Token) -> None:
        if _is_condition(node):
            raise self.fail("a condition cannot be compared; use and / or", tok)

    def comparison(self, tok: _Token, left: Any, right: Any) -> _Cmp:
        self.check_value(left, tok)
        self.check_value(right, tok)
        if not (_columns_of(left) | _columns_of(right)):
            raise self.fail("the comparison names no column", tok)
        texts = isinstance(left, _Str) or isinstance(right, _Str)
        if texts:
            if tok.value not in ("==", "!="):
                raise self.fail("text can only be compared with == or !=", tok)
            other = right if isinstance(left, _Str) else left
            if not isinstance(other, _Col):
                raise self.fail("text can only be compared with a column", tok)
        return _Cmp(tok.value, left, right)

    def literal_list(self) -> list[_Token]:
        self.expect("op", "[", "a list in square brackets, [1, 2] or ['a', 'b']")
        items: list[_Token] = []
        while True:
            neg = self.at("op", "-")
            if neg:
                self.next()
            tok = self.tok
            if tok.kind == "number":
                value = -tok.value if neg else tok.value
                items.append(_Token("number", value, tok.pos))
            elif tok.kind == "string" and not neg:
                items.append(tok)
            else:
                raise self.fail(f"expected a number or a text, found {self.describe()}")
            self.next()
            if self.at("op", ","):
                self.next()
                if self.at("op", "]"):
                    break
                continue
            break
        self.expect("op", "]", "',' or ']'")
        return items

    def membership(self, tok: _Token, left: Any, negate: bool) -> _In:
        self.check_value(left, tok)
        items = self.literal_list()
        kinds = {t.kind for t in items}
        if len(kinds) > 1:
            raise self.fail("a list holds numbers only or texts only", tok)
        if "string" in kinds and not isinstance(left, _Col):
            raise self.fail("a list of texts can only be tested on a column", tok)
        if not _columns_of(left):
            raise self.fail("the comparison names no column", tok)
        return _In(left, tuple(t.value for t in items), negate)

    def contains(self, tok: _Token, left: Any, negate: bool) -> _Contains:
        if not isinstance(left, _Col):
            raise self.fail("'contains' tests a column of text", tok)
        if self.at("string"):
            needles = [self.next().value]
        elif not self.at("op", "["):
            raise self.fail("'contains' takes a text or a list of texts", tok)
        else:
            items = self.literal_list()
            if any(t.kind != "string" for t in items):
                raise self.fail("'contains' takes a text or a list of texts", tok)
            needles = [t.value for t in items]
        needles = [normalize_label(n) for n in needles]
        if any(n == "" for n in needles):
            raise self.fail("'contains' needs a text that is not empty", tok)
        return _Contains(left, tuple(needles), negate)

    def parse_sum(self) -> Any:
        left = self.parse_term()
        while self.tok.kind == "op" and self.tok.value in "+-":
            tok = self.next()
            right = self.parse_term()
            left = self.arith(tok, left, right)
        return left

    def parse_term(self) -> Any:
        left = self.parse_unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            tok = self.next()
            right = self.parse_unary()
            left = self.arith(tok, left, right)
        return left

    def arith(self, tok: _Token, left: Any, right: Any) -> _Arith:
        for side in (left, right):
            self.check_value(side, tok)
            if isinstance(side, _Str):
                raise self.fail("text cannot be used in arithmetic", tok)
        return _Arith(tok.value, left, right)

    def parse_unary(self) -> Any:
        if self.at("op", "-"):
            tok = self.next()
            self.enter()
            operand = self.parse_unary()
            self.depth -= 1
            if isinstance(operand, _Str) or _is_condition(operand):
                raise self.fail("'-' needs a number after it", tok)
            if isinstance(operand, _Num):
                return _Num(-operand.value)
            return _Neg(operand)
        return self.parse_atom()

    def parse_atom(self) -> Any:
        tok = self.tok
        if tok.kind == "number":
            self.next()
            return _Num(tok.value)
        if tok.kind == "string":
            self.next()
            return _Str(tok.value)
        if tok.kind == "name":
            self.next()
            if self.at("op", "("):
                return self.call(tok)
            if not tok.value:
                raise self.fail("a column name is empty", tok)
            return _Col(tok.value)
        if self.at("op", "("):
            self.next()
            node = self.parse_or()
            self.expect("op", ")", "')'")
            return node
        if tok.kind == "keyword":
            raise self.fail(
                f"{tok.value!r} is a word of the language; quote a column of "
                f"that name in backticks (`{tok.value}`)"
            )
        raise self.fail(
            f"expected a column, a number or a text, found {self.describe()}"
        )

    def call(self, name: _Token) -> _Call:
        func = name.value
        if func not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise self.fail(
                f"unknown function {func!r}; the only functions are {allowed}",
                name,
            )
        self.next()  # the "("
        args = [self.parse_sum()]
        while self.at("op", ","):
            self.next()
            args.append(self.parse_sum())
        self.expect("op", ")", "',' or ')'")
        low, high = _FUNCTIONS[func]
        if len(args) < low or (high is not None and len(args) > high):
            count = f"{low}" if low == high else f"at least {low}"
            raise self.fail(f"{func}() takes {count} argument(s)", name)
        for arg in args:
            self.check_value(arg, name)
            if isinstance(arg, _Str):
                raise self.fail(f"{func}() takes numbers, not text", name)
        return _Call(func, tuple(args))


@dataclass(frozen=True)
class Condition:
    """A parsed condition of the mapping language.

    Build one with :func:`parse_condition`.

    Attributes
    ----------
    text : str
        The condition as written.
    columns : frozenset of str
        Every column name it reads.
    """

    text: str
    columns: frozenset[str]
    _node: Any

    def evaluate(
        self, table: pd.DataFrame, *, source: str = "<DataFrame>"
    ) -> np.ndarray:
        """Evaluate the condition on every row of ``table``.

        Parameters
        ----------
        table : DataFrame
            Cells as text (as from :func:`zfb.io.read_table`) or numbers.
        source : str, default "<DataFrame>"
            Name used in problem reports.

        Returns
        -------
        ndarray of bool, shape (n_rows,)
            True where the condition holds. A comparison with a missing value
            is False (see :func:`parse_condition`).

        Raises
        ------
        MappingError
            If the condition reads a column that ``table`` lacks.
        ValidationError
            If a column used as a number holds a cell that is not a number.
        """
        env = _Table.from_frame(table, source)
        _require_columns(env, self.columns, "<condition>", "", self.text)
        mask = _eval_condition(self._node, env, f"condition {self.text!r}")
        env.raise_problems()
        return mask


@dataclass(frozen=True)
class Expression:
    """A parsed arithmetic expression of the mapping language.

    Build one with :func:`parse_expression`.

    Attributes
    ----------
    text : str
        The expression as written.
    columns : frozenset of str
        Every column name it reads.
    """

    text: str
    columns: frozenset[str]
    _node: Any

    @property
    def is_column(self) -> bool:
        """Whether the expression is one column name alone (a copy)."""
        return isinstance(self._node, _Col)

    def evaluate(
        self, table: pd.DataFrame, *, source: str = "<DataFrame>"
    ) -> np.ndarray:
        """Evaluate the expression on every row of ``table``.

        Returns
        -------
        ndarray of float, shape (n_rows,)
            NaN where an input is missing or a division is by zero.

        Raises
        ------
        MappingError, ValidationError
            As :meth:`Condition.evaluate`.
        """
        env = _Table.from_frame(table, source)
        _require_columns(env, self.columns, "<expression>", "", self.text)
        values = _eval_value(self._node, env, f"expression {self.text!r}")
        env.raise_problems()
        return values


def parse_condition(text: str) -> Condition:
    """Parse a condition of the mapping language.

    The language (``not`` binds tighter than ``and``, and ``and`` tighter
    than ``or``; arithmetic binds tighter than comparisons):

    - ``A or B``, ``A and B``, ``not A``, parentheses;
    - comparisons ``x == y``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (not
      chained: write ``a < b and b < c``);
    - ``x in [1, 2, 3]``, ``x not in ['a', 'b']``;
    - ``col contains 'word'`` or ``col contains ['w1', 'w2']`` (any of them),
      ``col not contains ...``: a substring test on text;
    - ``x is missing``, ``x is not missing``;
    - values: column names (letters, digits and ``_``, not starting with a
      digit; any other name in backticks, ```Loan Theme Type```), numbers,
      texts in single or double quotes, ``+ - * /``, unary ``-`` and the
      functions ``min(a, b, ...)``, ``max(a, b, ...)`` and ``abs(a)``.

    A comparison with a text (``sector == 'Housing'``), ``in`` with a list of
    texts and ``contains`` compare text, ignoring case, full-width forms and
    repeated spaces; every other comparison compares numbers, and a column it
    reads must hold numbers. A blank cell, or one of ``NA``, ``N/A``, ``NaN``
    and ``null``, is *missing*: every comparison, ``in`` and ``contains`` with
    a missing value is False, ``!=`` and ``not in`` included, so that a rule
    never fires on a value nobody recorded. Division by zero gives a missing
    value.

    Parameters
    ----------
    text : str
        The condition, for example ``"dis > 0 or (age >= 65 and escolari < 3)"``.

    Returns
    -------
    Condition

    Raises
    ------
    ExpressionError
        If ``text`` is not a condition of the language: its message names the
        character at fault and what was expected there. Nothing in ``text`` is
        ever evaluated as Python.

    Examples
    --------
    >>> parse_condition("hacdor == 1 or overcrowding > 3").columns == {
    ...     "hacdor", "overcrowding"}
    True
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), 0, "a condition must be a text")
    parser = _Parser(text)
    if parser.at("end"):
        raise parser.fail("the condition is empty")
    node = parser.finish(parser.parse_or())
    if not _is_condition(node):
        raise ExpressionError(
            text, 0, "this is a value, not a condition; compare it (dis == 1)"
        )
    return Condition(text, frozenset(_columns_of(node)), node)


def parse_expression(text: str) -> Expression:
    """Parse an arithmetic expression of the mapping language.

    An expression is a value of the language of :func:`parse_condition`: a
    column name, a number, ``+ - * /`` and the functions ``min``, ``max`` and
    ``abs``, for example ``"(hogar_nin + hogar_mayor) / (hogar_adul -
    hogar_mayor)"``. It may not hold a comparison, nor a text.

    Raises
    ------
    ExpressionError
        If ``text`` is not an expression of the language.
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), 0, "an expression must be a text")
    parser = _Parser(text)
    if parser.at("end"):
        raise parser.fail("the expression is empty")
    node = parser.finish(parser.parse_or())
    if _is_condition(node):
        raise ExpressionError(
            text, 0, "this is a condition; an expression gives a number"
        )
    if isinstance(node, _Str):
        raise ExpressionError(
            text,
            0,
            "this is a text; assign a constant as { value = ..., reason = ... }",
        )
    return Expression(text, frozenset(_columns_of(node)), node)


# evaluation on whole columns
def _format_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers as text: whole numbers without ``.0``, missing as ``""``."""
    out = np.full(len(values), "", dtype=object)
    ok = np.isfinite(values)
    whole = ok & (np.abs(values) < 1e15)
    whole &= values == np.round(np.where(whole, values, 0.0))
    out[whole] = values[whole].astype(np.int64).astype(str)
    rest = ok & ~whole
    out[rest] = values[rest].astype(str)
    return out


class _Table:
    """The columns one step of a mapping reads, with file rows for problems.

    Input columns are held as given; columns assigned by the mapping are held
    as text (object arrays, ``""`` when missing) or numbers (float arrays, NaN
    when missing). ``rows[i]`` is the row of the file (header = row 1) that row
    ``i`` came from.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray,
        source: str,
        problems: list[Problem],
    ) -> None:
        self.frame = frame
        self.n = len(frame)
        self.rows = rows
        self.source = source
        self.problems = problems
        self.assigned: dict[str, tuple[str, np.ndarray]] = {}
        self._text: dict[str, np.ndarray] = {}
        self._number: dict[str, np.ndarray] = {}
        self._norm: dict[str, np.ndarray] = {}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str) -> _Table:
        # the rows read_table recorded count blank lines; else header + 1
        rows = frame.attrs.get("source_rows")
        if rows is None or len(rows) != len(frame):
            rows = np.arange(len(frame)) + 2
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c).strip() for c in frame.columns]
        return cls(frame, np.asarray(rows, dtype=np.int64), source, [])

    def has(self, name: str) -> bool:
        return name in self.assigned or name in self.frame.columns

    def names(self) -> list[str]:
        return [*self.frame.columns, *(n for n in self.assigned if n not in self.frame)]

    def set(self, name: str, kind: str, values: np.ndarray) -> None:
        self.assigned[name] = (kind, values)
        for cache in (self._text, self._number, self._norm):
            cache.pop(name, None)

    def problem(self, positions: np.ndarray, column: str, values, rule: str) -> None:
        for i, value in zip(positions, values, strict=True):
            self.problems.append(
                Problem(self.source, int(self.rows[i]), column, str(value), rule)
            )

    def raise_problems(self) -> None:
        if self.problems:
            self.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
            raise ValidationError(self.problems)

    def text(self, name: str) -> np.ndarray:
        """Cells as stripped text, ``""`` when missing."""
        if name in self._text:
            return self._text[name]
        if name in self.assigned:
            kind, values = self.assigned[name]
            out = values if kind == "text" else _format_numbers(values)
        else:
            col = self.frame[name]
            if pd.api.types.is_bool_dtype(col):
                col = col.astype("Int64")
            text = col.astype(object).where(col.notna(), "").astype(str).str.strip()
            out = text.mask(text.isin(_MISSING_MARKERS), "").to_numpy(dtype=object)
        self._text[name] = out
        return out

    def norm(self, name: str) -> np.ndarray:
        """Cells in the form used to compare text (see ``normalize_label``)."""
        if name not in self._norm:
            codes, uniques = pd.factorize(self.text(name))
            norm = np.array([normalize_label(u) for u in uniques], dtype=object)
            self._norm[name] = norm[codes] if len(norm) else np.full(self.n, "")
        return self._norm[name]

    def number(self, name: str, where: str) -> np.ndarray:
        """Cells as numbers, NaN when missing; other cells are problems."""
        if name in self._number:
            return self._number[name]
        if name in self.assigned and self.assigned[name][0] == "num":
            out = self.assigned[name][1]
        else:
            cells = self.text(name)
            blank = cells == ""
            try:  # fast path: every cell is a number or blank
                out = np.where(blank, "nan", cells).astype(float)
            except ValueError:
                text = pd.Series(cells, dtype=object).where(~blank)
                out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            bad = ~blank & ~np.isfinite(out)
            if bad.any():
                pos = np.flatnonzero(bad)
                self.problem(
                    pos,
                    name,
                    cells[pos],
                    f"must be a number ({where} uses it as a number; a [recode] "
                    "table can turn words into numbers)",
                )
                out = np.where(bad, np.nan, out)
        self._number[name] = out
        return out


def _full(value: float, n: int) -> np.ndarray:
    return np.full(n, value, dtype=float)


def _eval_value(node: Any, env: _Table, where: str) -> np.ndarray:
    n = env.n
    if isinstance(node, _Num):
        return _full(node.value, n)
    if isinstance(node, _Col):
        return env.number(node.name, where)
    if isinstance(node, _Neg):
        return -_eval_value(node.operand, env, where)
    if isinstance(node, _Arith):
        a = _eval_value(node.left, env, where)
        b = _eval_value(node.right, env, where)
        with np.errstate(invalid="ignore", over="ignore"):
            if node.op == "+":
                return a + b
            if node.op == "-":
                return a - b
            if node.op == "*":
                return a * b
            out = _full(np.nan, n)
            np.divide(a, b, out=out, where=(b != 0) & ~np.isnan(b))
            return out
    if isinstance(node, _Call):
        args = [_eval_value(a, env, where) for a in node.args]
        if node.func == "abs":
            return np.abs(args[0])
        reduce = np.minimum if node.func == "min" else np.maximum
        out = args[0]
        for arg in args[1:]:
            out = reduce(out, arg)
        return out
    raise TypeError(f"not a value node: {node!r}")  # the parser forbids it


def _present(values: np.ndarray) -> np.ndarray:
    return ~np.isnan(values)


def _eval_condition(node: Any, env: _Table, where: str) -> np.ndarray:
    if isinstance(node, _Logic):
        masks = [_eval_condition(item, env, where) for item in node.items]
        combine = np.logical_and if node.op == "and" else np.logical_or
        return combine.reduce(masks)
    if isinstance(node, _Not):
        return ~_eval_condition(node.operand, env, where)
    if isinstance(node, _Cmp):
        if isinstance(node.left, _Str) or isinstance(node.right, _Str):
            col, lit = (
                (node.right, node.left)
                if isinstance(node.left, _Str)
                else (node.left, node.right)
            )
            cells = env.norm(col.name)
            equal = cells == normalize_label(lit.value)
            present = cells != ""
            return (equal if node.op == "==" else ~equal) & present
        a = _eval_value(node.left, env, where)
        b = _eval_value(node.right, env, where)
        with np.errstate(invalid="ignore"):
            out = _COMPARE[node.op](a, b)
        return np.asarray(out, dtype=bool) & _present(a) & _present(b)
    if isinstance(node, _In):
        if node.values and isinstance(node.values[0], str):
            cells = env.norm(node.operand.name)
            inside = np.isin(cells, [normalize_label(v) for v in node.values])
            present = cells != ""
        else:
            values = _eval_value(node.operand, env, where)
            inside = np.isin(values, np.asarray(node.values, dtype=float))
            present = _present(values)
        return (~inside if node.negate else inside) & present
    if isinstance(node, _Contains):
        cells = pd.Series(env.norm(node.operand.name), dtype=object)
        found = np.zeros(env.n, dtype=bool)
        for needle in node.needles:
            found |= cells.str.contains(needle, regex=False).to_numpy(dtype=bool)
        present = cells.to_numpy() != ""
        return (~found if node.negate else found) & present
    if isinstance(node, _Missing):
        if isinstance(node.operand, _Col):
            missing = env.text(node.operand.name) == ""
        else:
            missing = np.isnan(_eval_value(node.operand, env, where))
        return ~missing if node.negate else missing
    raise TypeError(f"not a condition node: {node!r}")  # the parser forbids it


# mapping specification
_TABLES = ("households", "projects")
_TOP_KEYS = (
    "table",
    "title",
    "description",
    "licence",
    "recode",
    "group",
    "members",
    "columns",
    "codes",
)
_GROUP_KEYS = ("by", "head", "without_head")
_WITHOUT_HEAD = ("error", "drop", "first")
_AGGREGATES = ("count", "sum", "mean", "min", "max")
_ASSIGN_KINDS = (
    "expr",
    "copy",
    "value",
    "template",
    "lookup",
    "onehot",
    "count_items",
)
_ASSIGN_EXTRAS = {
    "expr": (),
    "copy": (),
    "value": (),
    "template": (),
    "lookup": ("values", "default"),
    "onehot": ("default",),
    "count_items": ("sep",),
}
_CODE_KEYS = ("pick", "fallback", "rules")
_RULE_KEYS = ("when", "code", "note")
_TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class _Group:
    """``[group]``: the grouping column, the head condition, the policy."""

    by: str
    head: Condition | None
    without_head: str


@dataclass(frozen=True)
class _Aggregate:
    """One entry of ``[members]``: ``func`` of ``arg`` over a group's rows."""

    name: str
    func: str
    arg: Condition | Expression
    where: Condition | None
    key: str


@dataclass(frozen=True)
class _Assignment:
    """One entry of ``[columns]``; ``kind`` is one of ``_ASSIGN_KINDS``."""

    name: str
    kind: str
    spec: Any
    options: dict
    reason: str
    key: str
    columns: frozenset[str]


@dataclass(frozen=True)
class _Rule:
    """One rule of a ``[codes.<column>]`` table."""

    when: Condition
    codes: tuple[str, ...]
    key: str
    note: str


@dataclass(frozen=True)
class _Codes:
    """``[codes.<column>]``: how its rules fill one code column."""

    column: str
    pick: str
    rules: tuple[_Rule, ...]
    fallback: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class Mapping:
    """A survey mapping, as read by :func:`load_mapping`.

    Attributes
    ----------
    name : str
        Stem of the file (``"costa_rica"``).
    file : str
        The file, as named in error messages.
    table : {"households", "projects"}
        The zfb table the mapping produces.
    title, description, licence : str
        Free text of the file.
    recode : dict
        ``[recode]``: for each input column, the values replaced.
    group : object or None
        ``[group]`` (``by``, ``head``, ``without_head``), or None.
    members, columns, codes : tuple
        ``[members]``, ``[columns]`` and ``[codes]`` entries in file order,
        each with its ``key`` (its place in the file, as in error messages).
    outputs : tuple of str
        The columns :func:`apply_mapping` returns, in order: those of
        ``[columns]``, then the code columns of ``[codes]``.
    """

    name: str
    file: str
    table: str
    title: str
    description: str
    licence: str
    recode: dict[str, dict[str, str]]
    group: _Group | None
    members: tuple[_Aggregate, ...]
    columns: tuple[_Assignment, ...]
    codes: tuple[_Codes, ...]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The output columns, in order."""
        return tuple(a.name for a in self.columns) + tuple(c.column for c in self.codes)


class _Builder:
    """Checks the parsed TOML of a mapping, collecting every issue."""

    def __init__(self, file: str, taxonomy: Taxonomy) -> None:
        self.file = file
        self.tax = taxonomy
        self.issues: list[MappingIssue] = []

    def issue(self, key: str, text: Any, reason: str) -> None:
        shown = text if isinstance(text, str) else ("" if text is None else repr(text))
        self.issues.append(MappingIssue(self.file, key, shown, reason))

    def keys(self, data: dict, allowed: Iterable[str], key: str) -> None:
        allowed = list(allowed)
        for k in data:
            if k not in allowed:
                near = difflib.get_close_matches(k, allowed, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                where = f"{key}.{k}" if key else k
                self.issue(
                    where, "", f"unknown key (known: {', '.join(allowed)}){hint}"
                )

    def text(self, data: dict, name: str, key: str, required: bool = False) -> str:
        value = data.get(name, "")
        if not isinstance(value, str):
            self.issue(f"{key}.{name}" if key else name, value, "must be a text")
            return ""
        if required and not value.strip():
            self.issue(f"{key}.{name}" if key else name, "", "is required")
        return value

    def table(self, data: dict, name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.issue(name, value, f"must be a table ([{name}])")
            return {}
        return value

    def condition(self, text: Any, key: str) -> Condition | None:
        if not isinstance(text, str):
            self.issue(key, text, "a condition must be a text in quotes")
            return None
        try:
            return parse_condition(text)
        except ExpressionError as exc:
            self.issue(key, text, f"{exc.reason} (at character {exc.position + 1})")
            return None

    def expression(self, text: Any, key: str) -> Expression | None:
        if not isinstance(text, str):
            self.issue(key, text, "an expression must be a text in quotes")
            return None
        try:
            return parse_expression(text)
        except ExpressionError as exc:
            self.issue(key, text, f"{exc.reason} (at character {exc.position + 1})")
            return None

    # sections
    def group(self, data: dict) -> _Group | None:
        if "group" not in data:
            return None
        spec = self.table(data, "group")
        self.keys(spec, _GROUP_KEYS, "group")
        by = self.text(spec, "by", "group", required=True)
        head = None
        if "head" in spec:
            head = self.condition(spec["head"], "group.head")
        without = spec.get("without_head", "error")
        if without not in _WITHOUT_HEAD:
            self.issue(
                "group.without_head",
                without,
                "must be " + ", ".join(repr(w) for w in _WITHOUT_HEAD),
            )
        if "without_head" in spec and "head" not in spec:
            self.issue("group.without_head", without, "needs group.head")
        return _Group(by.strip(), head, without)

    def members(self, data: dict, grouped: bool) -> tuple[_Aggregate, ...]:
        spec = self.table(data, "members")
        if spec and not grouped:
            self.issue("members", "", "members are aggregated per group; add [group]")
        out = []
        for name, agg in spec.items():
            key = f"members.{name}"
            if not isinstance(agg, dict):
                self.issue(key, agg, "must be a table such as { count = 'dis == 1' }")
                continue
            funcs = [f for f in _AGGREGATES if f in agg]
            self.keys(agg, [*_AGGREGATES, "where"], key)
            if len(funcs) != 1:
                self.issue(key, "", f"give exactly one of {', '.join(_AGGREGATES)}")
                continue
            func = funcs[0]
            if func == "count":
                arg = self.condition(agg[func], f"{key}.count")
            else:
                arg = self.expression(agg[func], f"{key}.{func}")
            where = None
            if "where" in agg:
                if func == "count":
                    self.issue(
                        f"{key}.where", agg["where"], "count takes its condition alone"
                    )
                where = self.condition(agg["where"], f"{key}.where")
            if arg is not None:
                out.append(_Aggregate(name, func, arg, where, key))
        return tuple(out)

    def assignment(self, name: str, spec: Any) -> _Assignment | None:
        key = f"columns.{name}"
        if isinstance(spec, str):
            spec = {"expr": spec}
        if not isinstance(spec, dict):
            self.issue(
                key,
                spec,
                "must be an expression in quotes or a table such as "
                "{ value = 0, reason = '...' }",
            )
            return None
        kinds = [k for k in _ASSIGN_KINDS if k in spec]
        if len(kinds) != 1:
            self.issue(key, "", f"give exactly one of {', '.join(_ASSIGN_KINDS)}")
            return None
        kind = kinds[0]
        self.keys(spec, [kind, *_ASSIGN_EXTRAS[kind], "reason"], key)
        reason = spec.get("reason", "")
        if not isinstance(reason, str):
            self.issue(f"{key}.reason", reason, "must be a text")
            reason = ""
        value = spec[kind]
        options: dict = {}
        columns: set[str] = set()
        if kind == "expr":
            parsed = self.expression(value, key)
            if parsed is None:
                return None
            value, columns = parsed, set(parsed.columns)
        elif kind == "copy":
            value = self.column_name(value, f"{key}.copy")
            columns = {value}
        elif kind == "value":
            if not isinstance(value, (str, int, float, bool)):
                self.issue(key, value, "a constant is a number, a text or true/false")
                return None
            if not reason.strip():
                self.issue(
                    f"{key}.reason",
                    "",
                    "a constant needs a reason: say why every row gets this value",
                )
        elif kind == "template":
            value = self.template(value, f"{key}.template")
            if value is None:
                return None
            columns = {p for is_col, p in value if is_col}
        elif kind == "lookup":
            options["values"] = self.lookup_values(spec.get("values"), f"{key}.values")
            columns = {self.column_name(value, f"{key}.lookup")}
        elif kind == "onehot":
            if not isinstance(value, dict) or not value:
                self.issue(key, value, "onehot is a table { column = 'label', ... }")
                return None
            labels = {}
            for col, label in value.items():
                if not isinstance(label, (str, int, float)):
                    self.issue(f"{key}.onehot.{col}", label, "must be a text")
                labels[col] = str(label)
            value, columns = labels, set(labels)
        elif kind == "count_items":
            columns = {self.column_name(value, f"{key}.count_items")}
            sep = spec.get("sep", ",")
            if not isinstance(sep, str) or not sep:
                self.issue(f"{key}.sep", sep, "must be a text that is not empty")
                sep = ","
            options["sep"] = sep
        if "default" in spec:
            default = spec["default"]
            if not isinstance(default, (str, int, float)):
                self.issue(f"{key}.default", default, "must be a text or a number")
            options["default"] = str(default)
        return _Assignment(name, kind, value, options, reason, key, frozenset(columns))

    def column_name(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.issue(key, value, "must name a column")
            return ""
        return value.strip()

    def template(self, value: Any, key: str) -> list[tuple[bool, str]] | None:
        if not isinstance(value, str):
            self.issue(key, value, "must be a text such as 'CR-{idhogar}'")
            return None
        parts: list[tuple[bool, str]] = []
        last = 0
        for m in _TEMPLATE_FIELD.finditer(value):
            if m.start() > last:
                parts.append((False, value[last : m.start()]))
            token = m.group()
            if token in ("{{", "}}"):
                parts.append((False, token[0]))
            elif m.group(1) is not None and m.group(1).strip():
                parts.append((True, m.group(1).strip()))
            else:
                self.issue(
                    key, value, "a '{' or '}' without a column name; write {{ or }}"
                )
                return None
            last = m.end()
        if last < len(value):
            parts.append((False, value[last:]))
        if not any(is_col for is_col, _ in parts):
            self.issue(key, value, "names no column; use { value = ..., reason = ... }")
            return None
        return parts

    def lookup_values(self, values: Any, key: str) -> dict[str, str]:
        if not isinstance(values, dict) or not values:
            self.issue(key, values, "a look-up needs values = { 'from' = 'to', ... }")
            return {}
        out = {}
        for k, v in values.items():
            if not isinstance(v, (str, int, float)):
                self.issue(f"{key}.{k}", v, "must be a text or a number")
                continue
            out[normalize_label(k)] = v if isinstance(v, str) else _number_text(v)
        return out

    def codes(self, data: dict, table: str) -> tuple[_Codes, ...]:
        spec = self.table(data, "codes")
        out = []
        for column, rules in spec.items():
            key = f"codes.{column}"
            canonical = canonical_header(column, table)
            kinds = {
                spec.name: spec.kind
                for spec in column_specs(table).values()
                if spec.kind in ("causes", "need_kind", "tags")
            }
            if canonical not in kinds:
                names = ", ".join(kinds) or "none"
                self.issue(
                    key, "", f"rules can fill only these columns of {table}: {names}"
                )
                continue
            kind = kinds[canonical]
            if not isinstance(rules, dict):
                self.issue(key, rules, "must be a table with rules")
                continue
            self.keys(rules, _CODE_KEYS, key)
            pick = rules.get("pick", "first" if kind == "need_kind" else "all")
            if pick not in ("all", "first"):
                self.issue(f"{key}.pick", pick, "must be 'all' or 'first'")
            if kind == "need_kind" and pick != "first":
                self.issue(
                    f"{key}.pick", pick, "a household has one need kind: 'first'"
                )
            fallback = self.code_list(
                rules.get("fallback", []), f"{key}.fallback", kind
            )
            items = rules.get("rules", [])
            if not isinstance(items, list) or not all(
                isinstance(r, dict) for r in items
            ):
                self.issue(
                    f"{key}.rules", "", "write each rule as [[codes.COLUMN.rules]]"
                )
                items = []
            if not items and not fallback:
                self.issue(key, "", "has neither rules nor a fallback")
            parsed = []
            for i, rule in enumerate(items, start=1):
                rkey = f"{key}, rule {i}"
                self.keys(rule, _RULE_KEYS, rkey)
                when = self.condition(rule.get("when"), f"{rkey}, when")
                codes = self.code_list(rule.get("code"), f"{rkey}, code", kind)
                if not codes:
                    self.issue(f"{rkey}, code", "", "a rule needs a code")
                if kind == "need_kind" and len(codes) > 1:
                    self.issue(f"{rkey}, code", "", "a need kind is one code")
                note = rule.get("note", "")
                if when is not None and codes:
                    parsed.append(_Rule(when, codes, rkey, str(note)))
            if kind == "need_kind" and len(fallback) > 1:
                self.issue(f"{key}.fallback", "", "a need kind is one code")
            out.append(_Codes(column, pick, tuple(parsed), fallback, key))
        return tuple(out)

    def code_list(self, value: Any, key: str, kind: str) -> tuple[str, ...]:
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
            self.issue(key, value, "a code or a list of codes, in quotes")
            return ()
        out = []
        for code in items:
            code = code.strip()
            if self.check_code(code, key, kind) and code not in out:
                out.append(code)
        return tuple(out)

    def check_code(self, code: str, key: str, kind: str) -> bool:
        tax = self.tax
        is_cause = code in tax.causes.index
        is_need = code in tax.need_kinds.index
        if (kind in ("causes",) and is_cause) or (kind == "need_kind" and is_need):
            return True
        if kind == "tags" and (is_cause or is_need):
            return True
        if kind in ("causes", "tags") and tax.is_cause(code):
            self.issue(key, code, f"write the cause code {tax.resolve(code)!r}")
        elif kind in ("need_kind", "tags") and tax.is_need_kind(code):
            self.issue(
                key, code, f"write the need-kind code {tax.resolve_need_kind(code)!r}"
            )
        elif kind == "need_kind":
            near = difflib.get_close_matches(code, list(tax.need_kinds.index), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            self.issue(key, code, f"unknown need-kind code{hint}")
        else:
            near = tax.suggest(code)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            word = "cause code" if kind == "causes" else "tag (cause or need-kind code)"
            self.issue(key, code, f"unknown {word}{hint}; `zfb causes` lists the codes")
        return False

    def outputs(self, table: str, columns, codes, attempted) -> None:
        names = [a.name for a in columns] + [c.column for c in codes]
        seen: dict[str, str] = {}
        for name in names:
            canonical = canonical_header(name, table) or name
            if canonical in seen:
                self.issue(
                    f"columns.{name}", "", f"the output already has {seen[canonical]!r}"
                )
            seen[canonical] = name
        if table == "households":
            needed = [
                ("household_id", "id_number"),
                ("township",),
                ("size",),
                ("income_per_capita",),
                ("causes", "main_cause", "other_causes"),
            ]
        else:
            needed = [
                ("project_id",),
                ("funder",),
                ("tags",),
                ("budget",),
                ("capacity",),
            ]
        tried = {canonical_header(n, table) or n for n in attempted}
        for options in needed:
            if not any(o in seen or o in tried for o in options):
                where = "[codes]" if options[0] in ("causes", "tags") else "[columns]"
                self.issue(
                    "columns",
                    "",
                    f"the {table} table needs a {options[0]!r} column; "
                    f"set it in {where}",
                )


def _number_text(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _format_numbers(np.array([float(value)]))[0]


def _build(data: dict, name: str, file: str, taxonomy: Taxonomy) -> Mapping:
    b = _Builder(file, taxonomy)
    b.keys(data, _TOP_KEYS, "")
    table = data.get("table")
    if table not in _TABLES:
        b.issue("table", table, "must be 'households' or 'projects'")
    recode: dict[str, dict[str, str]] = {}
    for col, values in b.table(data, "recode").items():
        if not isinstance(values, dict) or not values:
            b.issue(f"recode.{col}", values, "must be a table { 'from' = 'to', ... }")
            continue
        recode[col] = {
            str(k).strip(): (v if isinstance(v, str) else _number_text(v))
            for k, v in values.items()
        }
    group = b.group(data)
    members = b.members(data, group is not None)
    columns = []
    for col, spec in b.table(data, "columns").items():
        assignment = b.assignment(col, spec)
        if assignment is not None:
            columns.append(assignment)
    codes = b.codes(data, table) if table in _TABLES else ()
    if table in _TABLES:
        attempted = [*b.table(data, "columns"), *b.table(data, "codes")]
        b.outputs(table, columns, codes, attempted)
    title = b.text(data, "title", "")
    description = b.text(data, "description", "")
    licence = b.text(data, "licence", "")
    if b.issues:
        raise MappingError(b.issues)
    return Mapping(
        name=name,
        file=file,
        table=table,
        title=title,
        description=description,
        licence=licence,
        recode=recode,
        group=group,
        members=members,
        columns=tuple(columns),
        codes=codes,
    )


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped with zfb (``zfb/data/mappings/*.toml``)."""
    folder = resources.files("zfb") / "data" / "mappings"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_mapping(
    name_or_path: str | PathLike | dict | Mapping,
    *,
    taxonomy: Taxonomy | None = None,
) -> Mapping:
    """Read and check a survey mapping.

    Parameters
    ----------
    name_or_path : str, path-like, dict or Mapping
        The name of a shipped mapping (``"costa_rica"``, ``"kiva_loans"``,
        ``"kiva_themes"``; see :func:`shipped_mappings`), the path of a TOML
        file, or the parsed content of one as a dict. A :class:`Mapping` is
        returned as it is.
    taxonomy : Taxonomy, optional
        Taxonomy the codes of the rules are checked against; defaults to
        :func:`zfb.load_taxonomy`.

    Returns
    -------
    Mapping

    Raises
    ------
    MappingError
        If the file is missing or not TOML, or breaks a rule of the format:
        an unknown key, a condition that does not parse, an unknown cause or
        need-kind code, a constant without a reason, a required output column
        that nothing sets... Every issue names the file, the key and the
        value at fault. Columns are checked against the data by
        :func:`apply_mapping`.
    """
    if isinstance(name_or_path, Mapping):
        return name_or_path
    tax = taxonomy or load_taxonomy()
    if isinstance(name_or_path, dict):
        return _build(name_or_path, "<dict>", "<dict>", tax)
    text_name = str(name_or_path)
    is_path = (
        isinstance(name_or_path, PathLike)
        or text_name.endswith(".toml")
        or "/" in text_name
        or "\\" in text_name
    )
    if is_path:
        path = Path(name_or_path)
        file, name = str(path), path.stem
        if not path.is_file():
            raise MappingError([MappingIssue(file, "", "", "no such mapping file")])
        content = path.read_text(encoding="utf-8")
    else:
        shipped = shipped_mappings()
        if text_name not in shipped:
            near = difflib.get_close_matches(text_name, shipped, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise MappingError(
                [
                    MappingIssue(
                        text_name,
                        "",
                        "",
                        "no shipped mapping of that name (shipped: "
                        f"{', '.join(shipped)}){hint}; give the path of a .toml file",
                    )
                ]
            )
        name, file = text_name, f"zfb/data/mappings/{text_name}.toml"
        resource = resources.files("zfb") / "data" / "mappings" / f"{text_name}.toml"
        content = resource.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            [MappingIssue(file, "", "", f"not valid TOML: {exc}")]
        ) from None
    return _build(data, name, file, tax)


# applying a mapping
def _suggest(name: str, known: Iterable[str]) -> str:
    near = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""


def _require_columns(
    env: _Table, columns: Iterable[str], file: str, key: str, text: str
) -> None:
    missing = sorted(c for c in columns if not env.has(c))
    if missing:
        raise MappingError(
            MappingIssue(
                file, key, text, f"unknown column {c!r}{_suggest(c, env.names())}"
            )
            for c in missing
        )


def _check_columns(mapping: Mapping, raw_columns: list[str]) -> None:
    """Check every column a mapping reads against the data, before any work."""
    issues: list[MappingIssue] = []
    file = mapping.file
    available = set(raw_columns)

    def need(columns: Iterable[str], key: str, text: str) -> None:
        for c in sorted(columns):
            if c not in available:
                reason = f"unknown column {c!r}{_suggest(c, available)}"
                issues.append(MappingIssue(file, key, text, reason))

    need(mapping.recode, "recode", "")
    if mapping.group is not None:
        need([mapping.group.by], "group.by", mapping.group.by)
        if mapping.group.head is not None:
            need(mapping.group.head.columns, "group.head", mapping.group.head.text)
        for agg in mapping.members:
            need(agg.arg.columns, agg.key, agg.arg.text)
            if agg.where is not None:
                need(agg.where.columns, f"{agg.key}.where", agg.where.text)
        for agg in mapping.members:
            if agg.name in available:
                issues.append(
                    MappingIssue(
                        file,
                        agg.key,
                        "",
                        "is already a column of the input; give the aggregate "
                        "another name",
                    )
                )
        available |= {agg.name for agg in mapping.members}
    for a in mapping.columns:
        need(a.columns, a.key, a.spec.text if a.kind == "expr" else "")
        available.add(a.name)
    for codes in mapping.codes:
        for rule in codes.rules:
            need(rule.when.columns, f"{rule.key}, when", rule.when.text)
    if issues:
        raise MappingError(issues)


def _recode(env: _Table, recode: dict[str, dict[str, str]]) -> None:
    for col, table in recode.items():
        text = pd.Series(env.text(col), dtype=object)
        env.set(col, "text", text.replace(table).to_numpy(dtype=object))


def _aggregate(
    env: _Table, agg: _Aggregate, codes: np.ndarray, n_groups: int
) -> np.ndarray:
    where = f"{agg.key}"
    valid = codes >= 0
    if agg.func == "count":
        mask = _eval_condition(agg.arg._node, env, where) & valid
        return np.bincount(codes[mask], minlength=n_groups).astype(float)
    values = _eval_value(agg.arg._node, env, where)
    if agg.where is not None:
        keep = _eval_condition(agg.where._node, env, f"{where}.where")
        values = np.where(keep, values, np.nan)
    ok = valid & ~np.isnan(values)
    if agg.func in ("sum", "mean"):
        total = np.bincount(codes[ok], weights=values[ok], minlength=n_groups)
        if agg.func == "sum":
            return total
        count = np.bincount(codes[ok], minlength=n_groups)
        out = np.full(n_groups, np.nan)
        np.divide(total, count, out=out, where=count > 0)
        return out
    series = pd.Series(values[ok]).groupby(codes[ok])
    result = series.min() if agg.func == "min" else series.max()
    return result.reindex(range(n_groups)).to_numpy(dtype=float)


def _group(env: _Table, mapping: Mapping) -> _Table:
    """One row per group: the head's cells plus the members' aggregates."""
    spec = mapping.group
    key = env.text(spec.by)
    blank = key == ""
    if blank.any():
        pos = np.flatnonzero(blank)
        env.problem(
            pos, spec.by, [""] * len(pos), "a value is required: rows are grouped by it"
        )
    codes, uniques = pd.factorize(pd.Series(key, dtype=object).mask(blank))
    n_groups = len(uniques)
    first_row = np.full(n_groups, -1, dtype=np.int64)
    groups_seen, first_idx = np.unique(codes[codes >= 0], return_index=True)
    first_row[groups_seen] = np.flatnonzero(codes >= 0)[first_idx]

    # the head row of each group
    if spec.head is None:
        head_of = first_row.copy()
    else:
        is_head = _eval_condition(spec.head._node, env, "group.head") & (codes >= 0)
        pos = np.flatnonzero(is_head)
        head_of = np.full(n_groups, -1, dtype=np.int64)
        seen, idx = np.unique(codes[pos], return_index=True)
        head_of[seen] = pos[idx]
        extra = np.setdiff1d(pos, pos[idx], assume_unique=True)
        if len(extra):
            env.problem(
                extra,
                spec.by,
                key[extra],
                f"a second head of this household ({spec.head.text}); "
                "each group may have one",
            )
        missing = np.flatnonzero(head_of < 0)
        if len(missing) and spec.without_head == "error":
            rows = first_row[missing]
            env.problem(
                rows,
                spec.by,
                key[rows],
                f"no row of this household is its head ({spec.head.text}); set "
                "group.without_head to 'drop' or 'first' to read it anyway",
            )
        elif len(missing) and spec.without_head == "first":
            head_of[missing] = first_row[missing]
            logger.info(
                "%s: %d group(s) without a head read from their first row",
                env.source,
                len(missing),
            )
        elif len(missing):
            dropped_rows = int(np.isin(codes, missing).sum())
            logger.info(
                "%s: %d group(s) without a head (%d row(s)) dropped",
                env.source,
                len(missing),
                dropped_rows,
            )

    # aggregates over all member rows
    values = {
        agg.name: _aggregate(env, agg, codes, n_groups) for agg in mapping.members
    }
    kept = np.flatnonzero(head_of >= 0)
    rows = head_of[kept]
    frame = env.frame.iloc[rows].reset_index(drop=True)
    out = _Table(frame, env.rows[rows], env.source, env.problems)
    for name, (kind, arr) in env.assigned.items():
        out.set(name, kind, arr[rows])
    for name, arr in values.items():
        out.set(name, "num", arr[kept])
    logger.info(
        "%s: %d row(s) grouped into %d household(s) by %s",
        env.source,
        env.n,
        len(kept),
        spec.by,
    )
    return out


def _assign(env: _Table, a: _Assignment) -> None:
    where = a.key
    n = env.n
    if a.kind == "expr":
        node = a.spec._node
        if isinstance(node, _Col) and not (
            node.name in env.assigned and env.assigned[node.name][0] == "num"
        ):
            env.set(a.name, "text", env.text(node.name))
        else:
            env.set(a.name, "num", _eval_value(node, env, where))
    elif a.kind == "copy":
        kind = env.assigned.get(a.spec, ("text", None))[0]
        if kind == "num":
            env.set(a.name, "num", env.assigned[a.spec][1])
        else:
            env.set(a.name, "text", env.text(a.spec))
    elif a.kind == "value":
        value = a.spec
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            env.set(a.name, "num", _full(float(value), n))
        else:
            text = _number_text(value) if isinstance(value, bool) else value
            env.set(a.name, "text", np.full(n, text, dtype=object))
    elif a.kind == "template":
        out = pd.Series("", index=range(n), dtype=object)
        blank = np.zeros(n, dtype=bool)
        for is_col, part in a.spec:
            if is_col:
                cells = env.text(part)
                blank |= cells == ""
                out = out + pd.Series(cells, dtype=object)
            else:
                out = out + part
        env.set(a.name, "text", np.where(blank, "", out.to_numpy(dtype=object)))
    elif a.kind == "lookup":
        col = next(iter(a.columns))
        cells = pd.Series(env.norm(col), dtype=object)
        out = cells.map(a.options["values"])
        unknown = out.isna().to_numpy() & (cells.to_numpy() != "")
        if "default" in a.options:
            out = out.where(~unknown, a.options["default"])
        elif unknown.any():
            pos = np.flatnonzero(unknown)
            known = ", ".join(sorted(a.options["values"]))
            env.problem(
                pos, col, env.text(col)[pos], f"not in the look-up of {where} ({known})"
            )
        env.set(a.name, "text", out.fillna("").to_numpy(dtype=object))
    elif a.kind == "onehot":
        cols = list(a.spec)
        hits = np.column_stack([env.number(c, where) == 1 for c in cols])
        count = hits.sum(axis=1)
        labels = np.array([a.spec[c] for c in cols], dtype=object)
        out = np.where(count == 1, labels[hits.argmax(axis=1)], "").astype(object)
        names = ", ".join(cols)
        if (count == 0).any():
            if "default" in a.options:
                out[count == 0] = a.options["default"]
            else:
                pos = np.flatnonzero(count == 0)
                env.problem(
                    pos, cols[0], [""] * len(pos), f"none of {names} is 1 ({where})"
                )
        if (count > 1).any():
            pos = np.flatnonzero(count > 1)
            env.problem(
                pos,
                cols[0],
                [""] * len(pos),
                f"more than one of {names} is 1 ({where})",
            )
        env.set(a.name, "text", out)
    elif a.kind == "count_items":
        col = next(iter(a.columns))
        parts = pd.Series(env.text(col), dtype=object).str.split(
            a.options["sep"], regex=False
        )
        items = parts.explode().str.strip()
        counts = (items.fillna("") != "").groupby(level=0).sum()
        env.set(
            a.name, "num", counts.reindex(range(n), fill_value=0).to_numpy(dtype=float)
        )


def _fill_codes(env: _Table, codes: _Codes) -> None:
    n = env.n
    masks = []
    for rule in codes.rules:
        mask = _eval_condition(rule.when._node, env, f"{rule.key}, when")
        logger.debug("%s: %s fires on %d row(s)", env.source, rule.key, int(mask.sum()))
        masks.append(mask)
    fallback = ";".join(codes.fallback)
    if codes.pick == "first":
        choices = [";".join(r.codes) for r in codes.rules]
        out = (
            np.select(masks, choices, default=fallback)
            if masks
            else np.full(n, fallback)
        )
        env.set(codes.column, "text", np.asarray(out, dtype=object))
        return
    text = pd.Series("", index=range(n), dtype=object)
    added: dict[str, np.ndarray] = {}
    for rule, mask in zip(codes.rules, masks, strict=True):
        for code in rule.codes:
            before = added.get(code, np.zeros(n, dtype=bool))
            new = mask & ~before
            added[code] = before | mask
            text = text + np.where(new, code + ";", "")
    out = text.str.rstrip(";").to_numpy(dtype=object, copy=True)
    out[out == ""] = fallback
    env.set(codes.column, "text", out)


def apply_mapping(
    raw: pd.DataFrame,
    mapping: Mapping | str | PathLike,
    *,
    source: str = "<DataFrame>",
) -> pd.DataFrame:
    """Turn a survey table into a raw zfb table by a mapping's rules.

    Parameters
    ----------
    raw : DataFrame
        The survey, one row per record (individual, loan, project...), cells
        as text (as from :func:`zfb.io.read_table`, whose
        ``attrs["source_rows"]`` give the rows problems name) or numbers.
    mapping : Mapping, str or path-like
        A :class:`Mapping`, or what :func:`load_mapping` accepts.
    source : str, default "<DataFrame>"
        Name of the survey file, used in problem reports.

    Returns
    -------
    DataFrame
        One row per household (after ``[group]``) or per input row, in the
        order of first appearance in ``raw``, RangeIndex; the columns of
        :attr:`Mapping.outputs` in order, every cell as text (``""`` when
        missing; whole numbers without ``.0``), ready for
        :func:`zfb.io.validate_households` or :func:`zfb.io.validate_projects`.
        ``attrs["source_rows"]`` holds, for each row, the row of the survey
        file (header = row 1) it was read from: the head's row for a group.

    Raises
    ------
    MappingError
        If the mapping reads a column that ``raw`` lacks (checked before any
        work, every such column listed with the nearest known names).
    ValidationError
        With every bad value found: a cell used as a number that is not one,
        a value missing from a look-up, a blank grouping key, a group with two
        heads or (``without_head = "error"``) none, one-hot columns with no or
        several ones. Rows are those of the survey file.

    Notes
    -----
    Every step works on whole columns (boolean masks, ``np.bincount`` and
    group-by for the aggregates): the cost is linear in the number of rows
    times the number of rules and aggregates, with no loop over rows in
    Python. ``contains`` and text comparisons normalise each cell once per
    column.

    Conditions use two-valued logic: a comparison with a missing value is
    False, so ``not (x == 1)`` is True where ``x`` is missing while ``x != 1``
    is False there; write ``x is missing`` to test for it.

    A group's household-level fields are read from its head's row only; a
    value that differs between the rows of one household (as ``Target`` does
    for a few households of the Costa Rica survey) is taken from the head.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    env = _Table.from_frame(raw, source)
    _check_columns(mapping, list(env.frame.columns))
    _recode(env, mapping.recode)
    if mapping.group is not None:
        env = _group(env, mapping)
    for a in mapping.columns:
        _assign(env, a)
    for codes in mapping.codes:
        _fill_codes(env, codes)
    env.raise_problems()
    out = pd.DataFrame({name: env.text(name) for name in mapping.outputs})
    out.attrs["source_rows"] = env.rows.copy()
    logger.info(
        "%s: mapping %s gave %d row(s) of %s",
        source,
        mapping.name,
        len(out),
        mapping.table,
    )
    return out
