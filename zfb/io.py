"""Reading, validating and writing the households and projects tables.

A file goes through four steps: read every cell as text (CSV in UTF-8, UTF-8
with a BOM, GB18030/GBK or UTF-16, or XLSX); map its headers, Chinese or
English, to the canonical columns of ``docs/columns.md``; check every value
against its column's rule, collecting all problems before raising; and convert
to the canonical table of ``docs/data-model.md``, with national ID numbers
turned into keyed pseudonyms and names and phone numbers dropped.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import logging
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import (
    InputError,
    Problem,
    SheetWarning,
    UnknownCauseError,
    ValidationError,
)
from .pseudonym import check_id_number, load_secret, mask, pseudonymize
from .schema import ColumnSpec, _header_key, canonical_header, column_specs
from .taxonomy import Taxonomy, drop_invisible, load_taxonomy, normalize_label

__all__ = [
    "read_households",
    "read_projects",
    "read_table",
    "validate_households",
    "validate_matches",
    "validate_projects",
    "validate_table",
    "write_table",
    "SEPARATORS",
]

logger = logging.getLogger(__name__)

#: Characters that separate several causes, tags or townships in one cell (a
#: line break too: Alt+Enter in an Excel cell).
SEPARATORS = ";；、,，|\n"
_SPLIT = re.compile(r"\s*[;；、,，|\r\n]\s*")
_MODES = {
    "single": "single",
    "单户": "single",
    "单个": "single",
    "一对一": "single",
    "crowdfunding": "crowdfunding",
    "众筹": "crowdfunding",
    "bundle": "bundle",
    "打包": "bundle",
    "custom": "custom",
    "定制": "custom",
}
_MODE_ORDER = ("single", "crowdfunding", "bundle", "custom")
_ALL = {"*", "全部", "全县", "all", "全域"}
_STATUS = {
    "poor": "poor",
    "贫困": "poor",
    "未脱贫": "poor",
    "贫困户": "poor",
    "pre_exit": "pre_exit",
    "预脱贫": "pre_exit",
    "拟脱贫": "pre_exit",
    "exited": "exited",
    "已脱贫": "exited",
    "脱贫": "exited",
}
_TRUE = {"1", "yes", "y", "true", "t", "是", "有", "√"}
_FALSE = {"0", "no", "n", "false", "f", "否", "无", "×"}
# bounds of numeric columns: (minimum, strict, maximum)
_BOUNDS = {
    "size": (1, False, 30),
    "budget": (0, True, None),
    "capacity": (1, False, None),
    "score": (None, False, None),
    "share": (0, True, 1),
}


# reading
#: Encodings tried, in order, on a CSV file without a byte-order mark.
ENCODINGS_TRIED = "UTF-8, then GB18030 (which includes GBK and GB2312)"
#: How to save a file as UTF-8, for the messages of files that do not decode.
_SAVE_AS_UTF8 = (
    "save it as UTF-8: in Excel, Save As 'CSV UTF-8 (Comma delimited)'; in "
    "LibreOffice, Save As CSV with 'Edit filter settings' and the character "
    "set 'Unicode (UTF-8)'; or save it as XLSX"
)
#: Share of the non-ASCII characters that, in a file read as GB18030, must be
#: rare characters beside a Latin letter for the file to be taken for another
#: encoding (see _check_gb18030).
MOJIBAKE_SHARE = 1 / 3
_MOJIBAKE_SAMPLE = 1_000_000  # characters looked at
_BESIDE_LATIN = re.compile(r"(?<=[A-Za-z])[^\x00-\x7f]|[^\x00-\x7f](?=[A-Za-z])")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode a CSV file; return its text and the codec that read it."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name}: the file starts as {codec.upper()} but byte "
                    f"{exc.start} is not valid {codec.upper()}; save it again "
                    "as CSV UTF-8"
                ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pos = utf8_error.start
        raise InputError(
            f"{name}: cannot decode the file (bad byte 0x{data[pos]:02x} at "
            f"offset {pos} for UTF-8); encodings tried: {ENCODINGS_TRIED}. "
            f"It may be in another encoding, such as Latin-1; {_SAVE_AS_UTF8}"
        ) from None
    logger.info("%s: decoded as GB18030 (GBK)", name)
    return text, "gb18030"


def _outside_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return False


def _check_gb18030(text: str, name: str) -> None:
    """Refuse a file that decoded as GB18030 but is in another encoding.

    Bytes of any 8-bit encoding often decode as GB18030 without an error:
    Latin-1's ``Año`` reads as ``A駉``. An accented letter and the ASCII letter
    after it make one character of GBK's extensions, outside GB2312 (the
    standard set of the 6,763 common hanzi and the symbols of Chinese text),
    standing next to the Latin letters of its word. In Chinese text such rare
    characters (names such as 堃 or 镕) are few, and seldom next to a Latin
    letter. The file is refused when at least :data:`MOJIBAKE_SHARE` of its
    non-ASCII characters are rare characters next to a Latin letter.
    """
    sample = text[:_MOJIBAKE_SAMPLE]
    n = len(sample) - len(sample.encode("ascii", "ignore"))
    beside = _BESIDE_LATIN.findall(sample)
    if not beside:
        return
    rare = {c: _outside_gb2312(c) for c in set(beside)}
    odd = sum(rare[c] for c in beside)
    if odd == 0 or odd < MOJIBAKE_SHARE * n:
        return
    raise InputError(
        f"{name}: the file is not UTF-8, and read as GB18030/GBK it looks "
        f"garbled: {odd} of its {n} non-ASCII characters are rare ones next to "
        "Latin letters, as the accented letters of another encoding read (Año "
        "as A駉). It is probably in another encoding, such as Latin-1 "
        f"(ISO-8859-1) or Windows-1252. Encodings tried: {ENCODINGS_TRIED}; "
        f"{_SAVE_AS_UTF8}"
    )


def _blank_record(record: list[str]) -> bool:
    """Whether a csv record is a line pandas skips: empty or only spaces."""
    return not record or (len(record) == 1 and not record[0].strip())


def _csv_layout(text: str, sep: str, n: int, name: str):
    """The header row as written and the line where each record starts.

    Returns ``(header, header_line, rows)``: the header's fields (None if
    the csv module cannot read it), its line, and for each of the ``n``
    records pandas read the line it starts on (1-based, as an editor shows
    it; blank lines count, and a record whose quoted cell spans lines starts
    on its first line).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header, end = None, 0
    try:
        for record in reader:
            end = reader.line_num
            if not _blank_record(record):
                header = record
                break
        first = end + 1
        lines = text.count("\n") + text.count("\r") - text.count("\r\n")
        if not text.endswith(("\n", "\r")):
            lines += 1
        if lines - end == n:  # one line per record and no blank line
            return header, end, range(first, first + n)
        starts = []
        for record in reader:
            start, end = end + 1, reader.line_num
            if not _blank_record(record):
                starts.append(start)
    except csv.Error as exc:  # a cell longer than the csv module reads
        logger.info("%s: rows counted from the header (%s)", name, exc)
        return header, 1, range(2, 2 + n)
    if len(starts) != n:
        logger.info("%s: rows counted from the header, blank lines ignored", name)
        return header, first - 1, range(first, first + n)
    return header, first - 1, np.asarray(starts, dtype=np.int64)


def _separator(first: str, suffix: str) -> str:
    """The separator the header line ``first`` uses most: a comma, a tab or,
    from Excel where the decimal mark is a comma, a semicolon; a comma on a
    tie, a tab for ``.tsv``."""
    if suffix == ".tsv":
        return "\t"
    sep = max((",", "\t", ";"), key=first.count)
    return "," if first.count(sep) == first.count(",") else sep


def _read_csv(path: Path, name: str, suffix: str):
    text, codec = _decode(path.read_bytes(), name)
    if not text.strip():
        raise InputError(f"{name}: the file is empty")
    first = re.search(r"[^\r\n]*\S[^\r\n]*", text).group()
    sep = _separator(first, suffix)
    skip = _title_lines(text, sep, name)
    if skip:
        source = io.StringIO(text, newline="")
        cut = sum(len(source.readline()) for _ in range(skip))
        text = text[cut:]
        first = re.search(r"[^\r\n]*\S[^\r\n]*", text).group()
        sep = _separator(first, suffix)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                index_col=False,  # a trailing comma must not shift the columns
            )
    except pd.errors.ParserError as exc:
        _check_extra_fields(text, sep, name, skip)  # the usual cause, said plainly
        raise InputError(f"{name}: not a well-formed table: {exc}") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # some row has more fields than the header: pandas drops the extra ones
        _check_extra_fields(text, sep, name, skip)
    header, header_row, rows = _csv_layout(text, sep, len(df), name)
    if header is not None and len(header) == len(df.columns):
        # pandas renames a repeated header (size, size.1): keep it as written
        df.columns = [h.strip() or c for h, c in zip(header, df.columns, strict=True)]
    if codec == "gb18030":
        _check_gb18030(text, name)
    if skip:
        rows = (
            range(rows.start + skip, rows.stop + skip)
            if isinstance(rows, range)
            else rows + skip
        )
    return df, header_row + skip, rows


#: Most title rows above a header (a registry export's 贫困户信息表 line, a
#: unit line): each holds one value, and the header under them three or more.
_TITLE_ROWS_MAX = 5


def _is_title(filled: list[int], k: int) -> bool:
    """Whether the ``k`` first of the records' numbers of filled cells
    ``filled`` are title rows above a header: each holds one value, at most
    ``_TITLE_ROWS_MAX`` of them, and the next holds three or more."""
    return (
        0 < k <= _TITLE_ROWS_MAX
        and len(filled) > k
        and all(n == 1 for n in filled[:k])
        and filled[k] >= 3
    )


def _title_lines(text: str, sep: str, name: str) -> int:
    """Lines of title rows (and blank lines) above the header of a CSV text;
    0 when it starts with its header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    filled, starts, end = [], [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            n = sum(1 for cell in record if cell.strip())
            if n == 0:  # a blank line, or separators only
                continue
            filled.append(n)
            starts.append(start)
            if n != 1 or len(filled) > _TITLE_ROWS_MAX:
                break
    except csv.Error:
        return 0
    k = len(filled) - 1
    if not _is_title(filled, k):
        return 0
    logger.info("%s: %d title row(s) above the header left out", name, k)
    return starts[k] - 1


def _check_extra_fields(text: str, sep: str, name: str, skip: int = 0) -> None:
    """Raise a ValidationError naming every row with a value past the header's
    last column; empty fields there (a trailing comma) are harmless. ``text``
    starts ``skip`` lines into the file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    problems, width, start = [], None, 1 + skip
    for record in reader:
        line, start = start, reader.line_num + 1 + skip
        if width is None:
            if not _blank_record(record):
                width = len(record)
            continue
        extra = [(k, v) for k, v in enumerate(record[width:], width + 1) if v.strip()]
        if extra:
            k, value = extra[0]
            problems.append(
                Problem(
                    name,
                    line,
                    f"column {k} (past the header)",
                    _shown(value),
                    f"the row has {len(record)} values but the header names "
                    f"{width} columns: a value past the last column would be lost; "
                    "add its header or remove the extra separator",
                )
            )
    if problems:
        raise ValidationError(problems)


#: Numbers of a worksheet from this size on are not whole numbers exactly as
#: typed: a float holds every integer only up to 2**53.
_EXACT_FLOAT = 2.0**53


def _cell_text(cell) -> str:
    """A cell of a worksheet as the text pandas would read (an error is "")."""
    value = cell.value
    if value is None or cell.data_type == "e":
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= _EXACT_FLOAT:
            # digits past the 15th or 16th are noise (an ID number typed into
            # a number cell): keep the number as Excel shows it, 5.3e+17
            return repr(value)
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return str(value)


def _sheet_rows(ws):
    """The non-blank rows of a worksheet: (row number, texts)."""
    ws.reset_dimensions()  # some writers record a wrong size
    for number, cells in enumerate(ws.iter_rows(min_row=1), start=1):
        texts = [_cell_text(c) for c in cells]
        if any(t.strip() for t in texts):
            yield number, texts


def _sheet_has_data(ws) -> bool:
    return next(_sheet_rows(ws), None) is not None


def _visible(sheets):
    """The sheets Excel shows (all of them if every one is hidden)."""
    return [ws for ws in sheets if ws.sheet_state == "visible"] or list(sheets)


def _pick_sheet(sheets, sheet, name: str):
    titles = [ws.title for ws in sheets]
    listed = ", ".join(repr(t) for t in titles)
    if sheet is None:  # the first a person sees: hidden sheets hold lists
        return _visible(sheets)[0]
    if isinstance(sheet, str):
        if sheet in titles:
            return sheets[titles.index(sheet)]
        if not sheet.strip().isdigit():
            raise InputError(
                f"{name}: no sheet named {sheet!r}; the workbook's sheets are "
                f"{listed} (give a name or a 0-based index)"
            )
        sheet = int(sheet)
    if isinstance(sheet, bool) or not isinstance(sheet, int | np.integer):
        raise TypeError(f"sheet must be a name or a 0-based index, got {sheet!r}")
    if not 0 <= sheet < len(sheets):
        raise InputError(
            f"{name}: no sheet {sheet} (sheets are counted from 0); the "
            f"workbook's {len(sheets)} sheet(s) are {listed}"
        )
    return sheets[int(sheet)]


def _read_xlsx(path: Path, name: str, sheet: str | int | None):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on bad files
        raise InputError(f"{name}: not a readable XLSX file ({exc})") from None
    try:
        sheets = book.worksheets
        if not sheets:
            raise InputError(f"{name}: the workbook has no worksheet")
        ws = _pick_sheet(sheets, sheet, name)
        others = []
        if sheet is None:
            others = [
                s.title for s in _visible(sheets) if s is not ws and _sheet_has_data(s)
            ]
        try:
            records = list(_sheet_rows(ws))
        except Exception as exc:  # a damaged sheet
            raise InputError(f"{name}: not a readable XLSX file ({exc})") from None
    finally:
        book.close()
    if not records:
        hint = ""
        if others:
            listed = ", ".join(repr(t) for t in others)
            hint = f"; sheets with data: {listed} (choose one with sheet=/--sheet)"
        raise InputError(f"{name}: sheet {ws.title!r} is empty{hint}")
    if others:
        listed = ", ".join(repr(t) for t in others)
        warnings.warn(
            f"{name}: the workbook has {len(others) + 1} sheets with data; read "
            f"the first shown, {ws.title!r}, and not {listed}. To read another, name "
            "it (sheet='NAME' or a 0-based index; --sheet NAME on the command "
            "line); naming the first also silences this warning",
            SheetWarning,
            stacklevel=3,
        )
    filled = [sum(1 for t in texts if t.strip()) for _, texts in records]
    titles = next((k for k in range(1, _TITLE_ROWS_MAX + 1) if _is_title(filled, k)), 0)
    if titles:
        logger.info("%s: %d title row(s) above the header left out", name, titles)
        records = records[titles:]
    width = max(
        max((k + 1 for k, t in enumerate(texts) if t.strip()), default=0)
        for _, texts in records
    )
    header_row, header = records[0]
    header = (header + [""] * width)[:width]
    columns = [h.strip() or f"Unnamed: {k}" for k, h in enumerate(header)]
    data = [(texts + [""] * width)[:width] for _, texts in records[1:]]
    df = pd.DataFrame(data, columns=range(width), dtype="str")
    df.columns = columns
    rows = np.asarray([number for number, _ in records[1:]], dtype=np.int64)
    return df, header_row, rows, ws.title


def _repeated_headers(headers: Sequence[str]) -> dict[str, list[int]]:
    """Headers written more than once, with their 0-based positions."""
    seen: dict[str, list[int]] = {}
    for pos, header in enumerate(headers):
        seen.setdefault(str(header), []).append(pos)
    return {h: p for h, p in seen.items() if len(p) > 1}


def _column_letter(pos: int) -> str:
    """Spreadsheet letters of a 0-based column position (0 -> A, 26 -> AA)."""
    letters = ""
    pos += 1
    while pos:
        pos, rest = divmod(pos - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _repeated_rule(positions: Sequence[int]) -> str:
    shown = [f"{p + 1} ({_column_letter(p)})" for p in positions]
    times = "twice" if len(shown) == 2 else f"{len(shown)} times"
    where = ", ".join(shown[:-1]) + " and " + shown[-1]
    return (
        f"column appears {times} in the header, as columns {where}; keep one "
        "and remove or rename the others"
    )


def _repeated_problems(df: pd.DataFrame, source: str) -> list[Problem]:
    row = df.attrs.get("header_row")
    return [
        Problem(source, row, header, "", _repeated_rule(positions))
        for header, positions in _repeated_headers(list(df.columns)).items()
    ]


def read_table(
    path: str | PathLike,
    *,
    sheet: str | int | None = None,
    duplicate_headers: Literal["error", "keep"] = "error",
) -> pd.DataFrame:
    """Read a CSV or XLSX file with every cell as text.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.txt`` or ``.tsv`` (UTF-8, UTF-8 with BOM, GB18030/GBK or
        UTF-16; separated by commas, tabs or semicolons, the one the header
        uses most) or ``.xlsx``.
    sheet : str or int, optional
        The worksheet of an XLSX file to read: its name, or its 0-based
        position (a string of digits that is not a sheet's name counts as a
        position, hidden sheets counted). Default the first sheet that is
        not hidden; when other sheets shown hold data too, a
        :class:`~zfb.errors.SheetWarning` names them. Not allowed for CSV.
    duplicate_headers : {"error", "keep"}, default "error"
        A header written twice is an error (a :class:`ValidationError` with
        one problem per such header, naming its columns); ``"keep"`` keeps
        both columns under the same label, for a validator that reports it
        along with every other problem (:func:`validate_households` does).

    Returns
    -------
    DataFrame
        One column per header, headers as written (stripped; never renamed),
        every cell a ``str`` (empty string when blank), index 0..n-1 in file
        order. Blank lines (CSV) and blank rows (XLSX) are left out.
        ``attrs["source_rows"]`` gives, for each row, its line in the CSV
        file (where it starts, if a quoted cell spans lines) or its row in
        the worksheet, counting blank lines: the row a person sees.
        ``attrs["header_row"]`` is the header's; for XLSX ``attrs["sheet"]``
        is the name of the sheet read.

    Raises
    ------
    InputError
        If the file is missing, empty, of an unknown format or encoding, or
        not a well-formed table; if ``sheet`` names no sheet (the message
        lists them).
    ValidationError
        If a header is written twice and ``duplicate_headers="error"``.

    Warns
    -----
    SheetWarning
        When ``sheet`` is not given and sheets after the first hold data.

    Notes
    -----
    A CSV file that is not UTF-8 is read as GB18030, the encoding of Chinese
    Excel. When the result looks like another 8-bit encoding read wrongly (at
    least a third of the non-ASCII characters are characters outside GB2312
    standing next to a Latin letter, as ``Año`` read as GBK gives ``A駉``),
    the file is refused with an :class:`InputError` that lists the encodings
    tried and says how to save it as UTF-8. Text whose non-ASCII letters come
    in pairs (Cyrillic or Greek) can read as common hanzi and pass; save such
    files as UTF-8.
    """
    path = Path(path)
    name = str(path)
    if duplicate_headers not in ("error", "keep"):
        raise ValueError(
            f"duplicate_headers must be 'error' or 'keep', got {duplicate_headers!r}"
        )
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not a file; give the file in it")
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"
        raise InputError(f"{name}: {what}")
    suffix = path.suffix.lower()
    sheet_name = None
    if suffix in (".xlsx", ".xlsm"):
        df, header_row, rows, sheet_name = _read_xlsx(path, name, sheet)
    elif suffix == ".xls":
        raise InputError(
            f"{name}: the old Excel format (.xls) is not read; save it as .xlsx "
            "or as CSV UTF-8"
        )
    elif suffix in (".csv", ".txt", ".tsv", ""):
        if sheet is not None:
            raise InputError(
                f"{name}: a CSV file has no sheets; name a sheet only for XLSX"
            )
        df, header_row, rows = _read_csv(path, name, suffix)
    else:
        raise InputError(
            f"{name}: unknown file type {suffix!r}; give a .csv or .xlsx file"
        )
    df.columns = [str(c).strip() for c in df.columns]
    df = df.fillna("").astype(str)
    df.attrs["source_rows"] = rows
    df.attrs["header_row"] = header_row
    if sheet_name is not None:
        df.attrs["sheet"] = sheet_name
    if duplicate_headers == "error":
        problems = _repeated_problems(df, name)
        if problems:
            raise ValidationError(problems)
    return df


def _source_rows(df: pd.DataFrame, row_offset) -> int | Sequence[int]:
    """Rows of the file for ``df``'s rows: ``row_offset`` when given, else
    those :func:`read_table` recorded, else the position plus 2."""
    if row_offset is not None:
        return row_offset
    rows = df.attrs.get("source_rows")
    if rows is None or len(rows) != len(df):
        return 2
    index = df.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return rows
    positions = np.asarray(index)
    if positions.dtype.kind == "i" and np.array_equal(
        np.sort(positions), np.arange(len(df))
    ):
        return np.asarray(rows)[positions]  # reordered rows keep their own
    return 2


# checking values
class _Checker:
    """Collects the problems of one table while converting its columns.

    ``table`` is ``"households"``, ``"projects"`` (columns and aliases of
    ``zfb/data/columns.csv``) or ``"matches"`` (:data:`_MATCH_SPECS`, by
    canonical name only).
    """

    def __init__(
        self,
        df: pd.DataFrame,
        source: str,
        table: str,
        row_offset,
        header_row: int | None = None,
    ):
        self.source = source
        self.table = table
        self.row_offset = row_offset
        self.header_row = header_row
        self.problems: list[Problem] = []
        self.specs = _MATCH_SPECS if table == "matches" else column_specs(table)
        self.headers: dict[str, str] = {}  # canonical name -> header in file
        self.extras: list[tuple[str, int]] = []  # header, position
        self.raw = self._map_headers(df)

    def _canonical(self, header: str) -> str | None:
        if self.table == "matches":
            key = _header_key(header)
            return next((n for n in self.specs if _header_key(n) == key), None)
        return canonical_header(header, self.table)

    def _map_headers(self, df: pd.DataFrame) -> pd.DataFrame:
        columns = {}
        repeated = _repeated_headers(list(df.columns))
        for header, positions in repeated.items():
            self.problems.append(
                Problem(
                    self.source, self.header_row, header, "", _repeated_rule(positions)
                )
            )
        for pos, header in enumerate(df.columns):
            if header in repeated and pos != repeated[header][0]:
                continue  # reported above; the first is checked
            name = self._canonical(header)
            if name is None:
                self.extras.append((header, pos))
                continue
            if name in self.headers:
                self.add(
                    None,
                    header,
                    "",
                    f"column means the same as column {self.headers[name]!r} "
                    f"({name}); keep one of them",
                )
                continue
            self.headers[name] = header
            columns[name] = df.iloc[:, pos]
        raw = pd.DataFrame(columns, index=df.index)
        return raw.apply(_clean_column) if len(raw.columns) else raw

    def personal_extras(self, df: pd.DataFrame, advice: dict[str, str]) -> None:
        """A problem for each column zfb does not know that holds what look
        like national ID numbers or phone numbers (``advice`` by kind, ``id``
        or ``phone``, says what to do), at the first such cell."""
        for header, pos in self.extras:
            for kind, i in _personal_cells(df.iloc[:, pos]):
                what = _PERSONAL_WHAT[kind]
                self.add(i, header, mask(df.iat[i, pos]), f"{what}; {advice[kind]}")

    def add(self, index, column: str | None, value: str, rule: str) -> None:
        row = None if index is None else self.row_of(int(index))
        rule = _PERSONAL.sub(lambda m: mask(m.group()), rule)
        if len(rule) > 4 * _SHOWN_MAX:
            rule = rule[: 4 * _SHOWN_MAX - 1] + "…"
        self.problems.append(Problem(self.source, row, column, _shown(value), rule))

    def length(self, name: str, limit: int) -> None:
        col = self.raw[name]
        for i in col.index[col.str.len() > limit]:
            self.add(i, self.header(name), col[i], f"is longer than {limit} characters")

    def not_formula(self, name: str) -> None:
        """An id must not start as a spreadsheet formula does: the files zfb
        writes show it with a leading ``'`` (:func:`write_table`), and it
        would no longer match its own row."""
        col = self.raw[name]
        for i in col.index[col.str.startswith(_FORMULA_START)]:
            self.add(
                i,
                self.header(name),
                col[i],
                f"starts with {col[i][0]!r}, as a spreadsheet formula does: the "
                "files zfb writes show it as '" + col[i][:1] + "..., and it "
                "would then not match; give an id that starts with a letter or "
                "a digit",
            )

    def row_of(self, position: int) -> int:
        """Row of the file a person sees for a 0-based position."""
        if isinstance(self.row_offset, int):
            return position + self.row_offset
        return int(self.row_offset[position])

    def header(self, name: str) -> str:
        return self.headers.get(name, name)

    def require(self, *names: str) -> None:
        for name in names:
            if name not in self.raw.columns:
                accepted = ", ".join(self.specs[name].aliases[:6])
                self.add(
                    None,
                    name,
                    "",
                    f"{_MISSING} (also accepted: {accepted})",
                )

    def present(self, name: str) -> bool:
        return name in self.raw.columns

    def not_empty(self, name: str) -> None:
        if not self.present(name):
            return
        col = self.raw[name]
        for i in col.index[col == ""]:
            self.add(i, self.header(name), "", "a value is required")

    def unique(
        self,
        name: str,
        values: pd.Series | None = None,
        rule: str = "must be unique",
    ) -> None:
        col = self.raw[name] if values is None else values
        dup = col.duplicated(keep=False) & (col != "")
        if not dup.any():
            return
        dups = col[dup]
        first = pd.Series(dups.index, index=dups.values).groupby(level=0).min()
        for i in col.index[dup]:
            j = first[col[i]]
            if i != j:
                self.add(
                    i,
                    self.header(name),
                    col[i],
                    f"duplicate of row {self.row_of(j)}; {rule}",
                )

    def number(self, name: str, integer: bool) -> pd.Series:
        col = self.raw[name]
        text = col
        grouped = col.str.contains("[,，]", regex=True)
        if grouped.any():  # thousands separators: 1,200 or 1，200
            text = col.where(
                ~grouped,
                col[grouped].str.replace(r"(?<=\d)[,，](?=\d{3}\b)", "", regex=True),
            )
        text = text.str.removesuffix("元").str.strip()
        values = pd.to_numeric(text.where(text != "", np.nan), errors="coerce")
        bad = (col != "") & values.isna()
        for i in col.index[bad]:
            self.add(i, self.header(name), col[i], "must be a number")
        infinite = values.notna() & ~np.isfinite(values.astype("float64"))
        for i in col.index[infinite]:
            self.add(i, self.header(name), col[i], "must be a finite number")
        values = values.where(~infinite)
        low, strict, high = _BOUNDS.get(name, (0, False, None))
        ok = values.notna()
        if integer:
            frac = ok & (values != values.round())
            for i in col.index[frac]:
                self.add(i, self.header(name), col[i], "must be a whole number")
        if low is not None:
            under = ok & ((values <= low) if strict else (values < low))
            word = "more than" if strict else "at least"
            for i in col.index[under]:
                self.add(i, self.header(name), col[i], f"must be {word} {low}")
        if high is not None:
            for i in col.index[ok & (values > high)]:
                self.add(i, self.header(name), col[i], f"must be at most {high}")
        if integer:
            huge = ok & (values.abs() > 2**53)
            for i in col.index[huge]:
                self.add(i, self.header(name), col[i], "is too large")
            return values.where(~huge).round().astype("Int64")
        return values.astype("float64")

    def choice(self, name: str, table: dict[str, str], rule: str) -> pd.Series:
        col = self.raw[name]
        keys = _map_distinct(col, normalize_label)
        out = keys.map(table)
        for i in col.index[(col != "") & out.isna()]:
            self.add(i, self.header(name), col[i], rule)
        return out

    def boolean(self, name: str) -> pd.Series:
        col = self.raw[name]
        keys = _map_distinct(col, normalize_label)
        out = pd.Series(pd.NA, index=col.index, dtype="boolean")
        out[keys.isin(_TRUE)] = True
        out[keys.isin(_FALSE)] = False
        for i in col.index[(col != "") & out.isna()]:
            self.add(i, self.header(name), col[i], "must be yes or no (是/否, 1/0)")
        return out

    def date(self, name: str) -> pd.Series:
        col = self.raw[name]
        values = pd.to_datetime(col.where(col != ""), errors="coerce", format="mixed")
        for i in col.index[(col != "") & values.isna()]:
            self.add(i, self.header(name), col[i], "must be a date (YYYY-MM-DD)")
        return values

    def codes(self, name: str, resolve, rule_of) -> pd.Series:
        """Split a multi-value column and resolve each part through ``resolve``."""
        col = self.raw[name]
        codes_of, cells = pd.factorize(col, use_na_sentinel=False)
        joined, bad = [], []
        for k, cell in enumerate(cells):
            codes, errors = [], []
            for part in _SPLIT.split(cell):
                if not part:
                    continue
                try:
                    code = resolve(part)
                except UnknownCauseError as exc:
                    errors.append(rule_of(part, exc))
                    continue
                if code not in codes:
                    codes.append(code)
            joined.append(";".join(codes))
            if errors:
                bad.append((k, errors))
        for k, errors in bad:
            for i in col.index[codes_of == k]:
                for err in errors:
                    self.add(i, self.header(name), cells[k], err)
        out = pd.Index(joined, dtype="str").take(codes_of).array
        return pd.Series(out, index=col.index, dtype="str")


#: Digit runs that may be a national ID number (15 or 18 characters) or a
#: mobile phone number (11 digits, 1 then 3-9): never shown in a message.
_PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?!\d)")
#: Longest value quoted in a problem report.
_SHOWN_MAX = 60
#: Longest cell accepted in a name column (township, village, ids, funder).
NAME_MAX = 200
#: Longest cell accepted in a free-text column (notes, help plan, title).
TEXT_MAX = 10_000


def _shown(value: str) -> str:
    """A value as a problem report may show it: masked and shortened."""
    text = str(value)
    if _PERSONAL.search(text):
        return mask(text)
    if len(text) > _SHOWN_MAX:
        return text[: _SHOWN_MAX - 1] + f"… ({len(text)} characters)"
    return text


def _looks_like_id_number(value: str) -> bool:
    return bool(re.fullmatch(r"\d{17}[\dXx]|\d{15}", value)) and (
        check_id_number(value) is None
    )


#: A national ID number in a cell: 18 characters (17 digits, then a digit or
#: X) or 15 digits, not part of a longer run of digits.
_ID_RUN = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
#: A phone number in a cell: a mobile number (11 digits, 1 then 3-9, maybe
#: after +86) or a landline with its area code (0 and 2-3 digits, a hyphen,
#: 7-8 digits).
_PHONE_RUN = re.compile(r"(?<!\d)(?:(?:\+?86[- ]?)?1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?!\d)")
_PERSONAL_WHAT = {
    "id": "holds what look like national ID numbers",
    "phone": "holds what look like phone numbers",
}


def _personal_cells(col: pd.Series) -> list[tuple[str, int]]:
    """Where a column holds personal numbers: ``("id", i)`` for the first
    cell with a valid national ID number (:func:`check_id_number`) and
    ``("phone", i)`` for the first with a phone number, when there are."""
    text = col.astype("str")
    found = []
    for kind, pattern in (("id", _ID_RUN), ("phone", _PHONE_RUN)):
        hits = text.str.contains(pattern.pattern, regex=True)
        for i in text.index[hits]:
            if kind == "phone" or any(
                check_id_number(m) is None for m in pattern.findall(text[i])
            ):
                found.append((kind, i))
                break
    return found


def _clean_cell(value: str) -> str:
    """A cell as checked: invisible characters removed (:func:`drop_invisible`),
    NFKC (full-width letters and digits as half-width), stripped."""
    if value.isascii():
        return value.strip()
    return unicodedata.normalize("NFKC", drop_invisible(value)).strip()


def _clean_column(col: pd.Series) -> pd.Series:
    """:func:`_clean_cell` of every cell of a text column."""
    return _map_distinct(col, _clean_cell)


def _map_distinct(col: pd.Series, func) -> pd.Series:
    """``col.map(func)``, calling ``func`` once per distinct value."""
    codes, distinct = pd.factorize(col, use_na_sentinel=False)
    mapped = pd.Index([func(v) for v in distinct], dtype="str")
    return pd.Series(mapped.take(codes).array, index=col.index, name=col.name)


def _merge_causes(joined: str) -> str:
    """Drop repeated codes and a primary code listed beside one of its own
    secondaries (因病 with 尿毒症 is 尿毒症), keeping the main cause's place."""
    codes = list(dict.fromkeys(p for p in joined.split(";") if p))
    out: list[str] = []
    for code in codes:
        if "." not in code:
            specific = [c for c in codes if c.startswith(code + ".")]
            code = specific[0] if specific else code
        if code not in out:
            out.append(code)
    return ";".join(out)


def _cause_rule(part: str, exc: UnknownCauseError) -> str:
    rule = f"unknown cause {part!r}"
    if exc.suggestions:
        rule += "; did you mean " + ", ".join(exc.suggestions) + "?"
    else:
        rule += "; `zfb causes` lists the known causes"
    return rule


#: Rule of a missing required column (see _Checker.require).
_MISSING = "required column is missing"
#: Rows below the header searched for the real header, when a required
#: column is missing (a title or merged headings above it).
_HEADER_SEARCH = 10


def _header_below(checker: _Checker, df: pd.DataFrame) -> None:
    """When required columns are missing, look for the header in the first
    rows below the one taken for it (a title above the table, or headings
    merged over several columns): a problem names that row."""
    if not any(p.rule.startswith(_MISSING) for p in checker.problems):
        return
    known_here = len(checker.headers)
    for i in range(min(len(df), _HEADER_SEARCH)):
        cells = [str(v).strip() for v in df.iloc[i] if str(v).strip()]
        known = [c for c in cells if checker._canonical(c) is not None]
        if len(known) >= 2 and len(known) > known_here:
            shown = ", ".join(known[:6]) + (", …" if len(known) > 6 else "")
            above = checker.row_of(i) - 1
            rows = "row 1" if above == 1 else f"rows 1 to {above}"
            checker.problems.append(
                Problem(
                    checker.source,
                    checker.row_of(i),
                    None,
                    "",
                    f"this row looks like the header ({len(known)} known "
                    f"columns: {shown}), while row {checker.header_row or 1}, "
                    f"read as the header, names {known_here}: remove the rows "
                    f"above it ({rows}: a title, or headings merged "
                    "over several columns) so that the header is the first row",
                )
            )
            return


def _finish(checker: _Checker, out: dict[str, pd.Series], df: pd.DataFrame):
    if checker.problems:
        _header_below(checker, df)
        checker.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise ValidationError(checker.problems)
    table = pd.DataFrame(out, index=df.index)
    for header, pos in checker.extras:
        if header not in table.columns:
            table[header] = df.iloc[:, pos].values
    return table.reset_index(drop=True)


def _convert_common(checker: _Checker, out: dict, name: str, spec) -> None:
    kind = spec.kind
    if kind in ("str", "id", "text"):
        checker.length(name, TEXT_MAX if kind == "text" else NAME_MAX)
        out[name] = checker.raw[name].replace("", pd.NA).astype("str")
    elif kind == "int":
        out[name] = checker.number(name, integer=True)
    elif kind == "float":
        out[name] = checker.number(name, integer=False)
    elif kind == "bool":
        out[name] = checker.boolean(name)
    elif kind == "date":
        out[name] = checker.date(name)


def _township_list(townships: Iterable[str] | None) -> set[str] | None:
    if townships is None:
        return None
    return {normalize_label(t) for t in townships}


def validate_households(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    taxonomy: Taxonomy | None = None,
    secret: str | bytes | None = None,
    townships: Iterable[str] | None = None,
    row_offset: int | Sequence[int] | None = None,
    keep_personal: bool = False,
) -> pd.DataFrame:
    """Check a households table and return it in canonical form.

    Parameters
    ----------
    df : DataFrame
        Raw table, as from :func:`read_table` (cells as text) or built in
        memory; headers canonical or any alias of ``docs/columns.md``.
    source : str, default "<DataFrame>"
        Name of the file, used in problem reports.
    taxonomy : Taxonomy, optional
        Defaults to :func:`zfb.load_taxonomy`.
    secret : str or bytes, optional
        Pseudonym key for ``id_number``; defaults to ``ZFB_SECRET`` or the
        configuration file. Only needed when the table has ID numbers.
    townships : iterable of str, optional
        When given, every township must be one of these.
    row_offset : int or sequence of int, optional
        Added to the 0-based position to give the row a person sees (the
        header is row 1); or, for each row, the row of the file it came from
        (a survey mapping's ``attrs["source_rows"]``). Default: the rows
        :func:`read_table` recorded in ``df.attrs["source_rows"]`` (which
        count blank lines), else the position plus 2.
    keep_personal : bool, default False
        Keep the ``name`` and ``phone`` columns, for a store that shows them
        to the cadres of the household's village. The national ID number is
        never kept.

    Returns
    -------
    DataFrame
        The canonical households table of ``docs/data-model.md``: one row per
        household in file order, RangeIndex; ``causes`` as codes joined by
        ``;`` (main cause first); at most one ``need_kind``; no ``name``,
        ``phone`` or ``id_number``. Columns not in the specification are kept
        at the end, as they were, unless they hold what look like national
        ID numbers or phone numbers, which is a problem.

    Raises
    ------
    ValidationError
        With every problem found (file, row, column, value, rule).
    ConfigError
        If the table has ID numbers and no pseudonym key is set.
    """
    tax = taxonomy or load_taxonomy()
    rows = _source_rows(df, row_offset)
    header_row = df.attrs.get("header_row")
    df = df.reset_index(drop=True).fillna("").astype(str)
    chk = _Checker(df, source, "households", rows, header_row)
    raw = chk.raw
    chk.personal_extras(
        df,
        {
            "id": "name the column id_number (身份证号) so that it is turned "
            "into a pseudonym, or remove it",
            "phone": "name the column phone (联系电话) so that it is kept as "
            "personal data, or remove it",
        },
    )
    out: dict[str, pd.Series] = {}

    # identity: household_id or a pseudonym of id_number
    has_ids = chk.present("id_number") and (raw["id_number"] != "").any()
    if not chk.present("household_id") and not chk.present("id_number"):
        chk.require("household_id")
    ids = raw["household_id"] if chk.present("household_id") else None
    if has_ids:
        key = load_secret(secret)
        numbers = raw["id_number"]
        pseudo = pd.Series("", index=raw.index, dtype=object)
        for i, value in numbers.items():
            if value == "":
                continue
            if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", value):
                chk.add(
                    i,
                    chk.header("id_number"),
                    mask(value),
                    "the ID number was stored as a number and lost its last "
                    "digits; format the column as text in Excel and re-enter it",
                )
                continue
            why = check_id_number(value)
            if why:
                chk.add(i, chk.header("id_number"), mask(value), why)
                continue
            pseudo[i] = pseudonymize(value, key)
        ids = pseudo if ids is None else ids.where(ids != "", pseudo)
    if ids is not None:
        if chk.present("household_id"):
            chk.length("household_id", NAME_MAX)
            chk.not_formula("household_id")
            given = raw["household_id"]
            for i in given.index[given.map(_looks_like_id_number)]:
                chk.add(
                    i,
                    chk.header("household_id"),
                    given[i],
                    "looks like a national ID number: give it in an id_number "
                    "(身份证号) column, which is turned into a pseudonym",
                )
        missing = ids == ""
        if chk.present("id_number"):
            missing &= raw["id_number"] == ""  # a bad number is reported already
        for i in ids.index[missing]:
            chk.add(
                i,
                chk.header("household_id"),
                "",
                "household_id (or id_number) is required",
            )
        chk.raw["household_id"] = ids
        chk.unique("household_id", ids)
        out["household_id"] = ids.astype("str")

    # required plain columns
    chk.require("township", "size", "income_per_capita")
    if not any(chk.present(c) for c in ("causes", "main_cause", "other_causes")):
        chk.require("causes")
    chk.not_empty("township")
    chk.not_empty("size")
    chk.not_empty("income_per_capita")
    if townships is not None and chk.present("township"):
        known = _township_list(townships)
        col = raw["township"]
        labels = _map_distinct(col, normalize_label)
        for i in col.index[(col != "") & ~labels.isin(known)]:
            chk.add(i, chk.header("township"), col[i], "not a township of the county")

    # causes: main cause, then causes, then other causes
    parts = [c for c in ("main_cause", "causes", "other_causes") if chk.present(c)]
    if parts:
        resolved = [chk.codes(c, tax.resolve, _cause_rule) for c in parts]
        merged = resolved[0]
        for more in resolved[1:]:
            merged = merged.str.cat(more, sep=";")
        merged = _map_distinct(merged, _merge_causes)
        for i in merged.index[merged == ""]:
            if not any(raw.at[i, c] for c in parts):
                chk.add(i, chk.header(parts[0]), "", "at least one cause is required")
        out["causes"] = merged

    # every other column by its kind
    specs = column_specs("households")
    for name, spec in specs.items():
        if name in out or name in ("main_cause", "other_causes"):
            continue
        if not chk.present(name) or spec.kind == "id_number":
            continue
        if spec.kind == "personal":
            if keep_personal:
                out[name] = chk.raw[name].replace("", pd.NA).astype("str")
            continue
        if spec.kind == "need_kind":
            kinds = chk.codes(
                name,
                tax.resolve_need_kind,
                lambda part, exc: (
                    f"unknown need kind {part!r}"
                    + (
                        f"; did you mean {', '.join(exc.suggestions)}?"
                        if exc.suggestions
                        else ""
                    )
                ),
            )
            for i in kinds.index[kinds.str.contains(";", regex=False)]:
                codes = kinds[i].split(";")
                chk.add(
                    i,
                    chk.header(name),
                    chk.raw.at[i, name],
                    f"names {len(codes)} need kinds ({', '.join(codes)}); a "
                    "household has one need kind, with one need_amount: keep "
                    "the main one (the others may go in notes)",
                )
            out[name] = kinds.replace("", pd.NA)
        elif spec.kind == "status":
            out[name] = chk.choice(
                name,
                _STATUS,
                "must be poor (贫困), pre_exit (预脱贫) or exited (已脱贫)",
            )
        else:
            _convert_common(chk, out, name, spec)
    # the optional need columns are always there, so later steps can rely on them
    if "need_kind" not in out:
        out["need_kind"] = pd.Series(pd.NA, index=df.index, dtype="str")
    if "need_amount" not in out:
        out["need_amount"] = pd.Series(np.nan, index=df.index, dtype="float64")
    dropped = [n for n in ("name", "phone", "id_number") if chk.present(n)]
    if keep_personal:
        dropped = [n for n in dropped if n == "id_number"]
    if dropped:
        logger.info("%s: personal columns dropped at read time: %s", source, dropped)
    order = [n for n in specs if n in out]
    table = _finish(chk, {n: out[n] for n in order}, df)
    for name in ("size",):
        table[name] = table[name].astype("int64")
    return table


def validate_projects(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    taxonomy: Taxonomy | None = None,
    townships: Iterable[str] | None = None,
    row_offset: int | Sequence[int] | None = None,
) -> pd.DataFrame:
    """Check a projects table and return it in canonical form.

    Parameters
    ----------
    df : DataFrame
        Raw table; headers canonical or any alias of ``docs/columns.md``.
    source : str, default "<DataFrame>"
        Name of the file, used in problem reports.
    taxonomy : Taxonomy, optional
        Defaults to :func:`zfb.load_taxonomy`.
    townships : iterable of str, optional
        When given, every township a project names must be one of these.
    row_offset : int or sequence of int, optional
        See :func:`validate_households`.

    Returns
    -------
    DataFrame
        The canonical projects table of ``docs/data-model.md``: ``tags`` as
        cause and need-kind codes joined by ``;``, ``townships`` as names
        joined by ``;`` or ``*``, ``modes`` as a subset of ``single``,
        ``crowdfunding``, ``bundle``, ``custom`` joined by ``;``; an
        ``end_date`` never before its ``start_date``. Other columns are kept
        at the end, unless they hold what look like national ID numbers or
        phone numbers, which is a problem.

    Raises
    ------
    ValidationError
        With every problem found.
    """
    tax = taxonomy or load_taxonomy()
    rows = _source_rows(df, row_offset)
    header_row = df.attrs.get("header_row")
    df = df.reset_index(drop=True).fillna("").astype(str)
    chk = _Checker(df, source, "projects", rows, header_row)
    chk.personal_extras(
        df,
        {
            "id": "a projects file holds no personal data: remove the column",
            "phone": "a projects file holds no personal data: remove the column",
        },
    )
    out: dict[str, pd.Series] = {}
    chk.require("project_id", "funder", "tags", "budget", "capacity")
    for name in ("project_id", "funder", "tags", "budget", "capacity"):
        chk.not_empty(name)
    if chk.present("project_id"):
        chk.unique("project_id")
        chk.not_formula("project_id")

    def resolve_tag(label: str) -> str:
        if tax.is_cause(label):
            return tax.resolve(label)
        if tax.is_need_kind(label):
            return tax.resolve_need_kind(label)
        near = tax.suggest(label, 2)
        try:
            tax.resolve_need_kind(label)
        except UnknownCauseError as exc:
            near += exc.suggestions[:1]
        raise UnknownCauseError(label, near)

    specs = column_specs("projects")
    for name, spec in specs.items():
        if not chk.present(name):
            continue
        if spec.kind == "tags":
            out[name] = chk.codes(
                name,
                resolve_tag,
                lambda part, exc: (
                    f"unknown tag {part!r} (neither a cause nor a "
                    "need kind)"
                    + (
                        f"; did you mean {', '.join(exc.suggestions)}?"
                        if exc.suggestions
                        else ""
                    )
                ),
            )
        elif spec.kind == "townships":
            out[name] = _townships(chk, name, _township_list(townships))
        elif spec.kind == "modes":
            out[name] = _modes(chk, name)
        else:
            _convert_common(chk, out, name, spec)
    if "start_date" in out and "end_date" in out:
        _date_order(chk, out["start_date"], out["end_date"])
    if "townships" not in out:
        out["townships"] = pd.Series("*", index=df.index, dtype="str")
    if "modes" not in out:
        out["modes"] = pd.Series("single", index=df.index, dtype="str")
    if "per_household_cap" not in out:
        out["per_household_cap"] = pd.Series(np.nan, index=df.index)
    order = [n for n in specs if n in out]
    table = _finish(chk, {n: out[n] for n in order}, df)
    table["capacity"] = table["capacity"].astype("int64")
    return table


def _date_order(chk: _Checker, start: pd.Series, end: pd.Series) -> None:
    """A project ends on or after the day it starts."""
    for i in end.index[end < start]:  # NaT compares False: a missing date passes
        chk.add(
            i,
            chk.header("end_date"),
            chk.raw.at[i, "end_date"],
            f"is before the start date {chk.raw.at[i, 'start_date']!r} (column "
            f"{chk.header('start_date')!r}); a project ends on or after the day "
            "it starts",
        )


def _townships(chk: _Checker, name: str, known: set[str] | None) -> pd.Series:
    col = chk.raw[name]
    out = []
    for i, cell in col.items():
        if cell == "" or normalize_label(cell) in _ALL:
            out.append("*")
            continue
        parts = list(dict.fromkeys(p for p in _SPLIT.split(cell) if p))
        if known is not None:
            for p in parts:
                if normalize_label(p) not in known:
                    chk.add(i, chk.header(name), p, "not a township of the county")
        out.append(";".join(parts))
    return pd.Series(out, index=col.index, dtype="str")


def _modes(chk: _Checker, name: str) -> pd.Series:
    col = chk.raw[name]
    out = []
    for i, cell in col.items():
        parts = [p for p in _SPLIT.split(cell) if p] or ["single"]
        modes = set()
        for p in parts:
            mode = _MODES.get(normalize_label(p))
            if mode is None:
                chk.add(
                    i,
                    chk.header(name),
                    p,
                    "unknown mode; use single (单户), crowdfunding (众筹), "
                    "bundle (打包) or custom (定制)",
                )
            else:
                modes.add(mode)
        out.append(";".join(m for m in _MODE_ORDER if m in modes))
    return pd.Series(out, index=col.index, dtype="str")


def read_households(
    path: str | PathLike,
    *,
    taxonomy: Taxonomy | None = None,
    secret: str | bytes | None = None,
    townships: Iterable[str] | None = None,
    mapping: str | PathLike | None = None,
    keep_personal: bool = False,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a households file (CSV or XLSX) into the canonical table.

    Parameters
    ----------
    path : str or path-like
        The file; see :func:`read_table` for formats and encodings.
    taxonomy, secret, townships, keep_personal
        See :func:`validate_households`.
    mapping : str or path-like, optional
        Name of a shipped survey mapping (``"costa_rica"``, ``"kiva_loans"``) or
        path of a mapping file: the file is a survey table whose columns are
        turned into households by the mapping's rules (``docs/surveys.md``).
    sheet : str or int, optional
        The sheet of an XLSX workbook, by name or 0-based position; see
        :func:`read_table`.

    Returns
    -------
    DataFrame
        See :func:`validate_households`. Problems name the rows of the file
        as a person sees them, blank lines counted.

    Raises
    ------
    InputError
        If the file cannot be read.
    ValidationError
        With every problem found in it.

    Warns
    -----
    SheetWarning
        When ``sheet`` is not given and sheets after the first hold data.
    """
    raw = read_table(path, sheet=sheet, duplicate_headers="keep")
    return validate_table(
        raw,
        "households",
        source=str(path),
        mapping=mapping,
        taxonomy=taxonomy,
        secret=secret,
        townships=townships,
        keep_personal=keep_personal,
    )


def read_projects(
    path: str | PathLike,
    *,
    taxonomy: Taxonomy | None = None,
    townships: Iterable[str] | None = None,
    mapping: str | PathLike | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a projects file (CSV or XLSX) into the canonical table.

    ``mapping`` names a shipped mapping or a mapping file that turns another
    table (for example Kiva's loan themes) into projects, and ``sheet`` the
    sheet of a workbook, as in :func:`read_households`. See
    :func:`validate_projects` for the result and the errors raised.
    """
    raw = read_table(path, sheet=sheet, duplicate_headers="keep")
    return validate_table(
        raw,
        "projects",
        source=str(path),
        mapping=mapping,
        taxonomy=taxonomy,
        townships=townships,
    )


def validate_table(
    raw: pd.DataFrame,
    kind: Literal["households", "projects"],
    *,
    source: str = "<DataFrame>",
    mapping: str | PathLike | None = None,
    taxonomy: Taxonomy | None = None,
    secret: str | bytes | None = None,
    townships: Iterable[str] | None = None,
    keep_personal: bool = False,
) -> pd.DataFrame:
    """Check a table read by :func:`read_table`, through a survey mapping
    when one is given: the one path of :func:`read_households`,
    :func:`read_projects`, ``zfb validate`` and ``zfb import``.

    Parameters
    ----------
    raw : DataFrame
        As :func:`read_table` returns it (``duplicate_headers="keep"``, so
        that a repeated header is reported with the other problems); the
        rows of problems come from its ``attrs["source_rows"]``.
    kind : {"households", "projects"}
    source : str, default "<DataFrame>"
        Name of the file, used in problem reports.
    mapping : str or path-like, optional
        A survey mapping (see :func:`read_households`); it must make ``kind``.
    taxonomy, secret, townships, keep_personal
        See :func:`validate_households` (``secret`` and ``keep_personal``
        are for households only).

    Returns
    -------
    DataFrame
        The canonical table of ``kind``.

    Raises
    ------
    ConfigError
        If ``mapping`` makes the other kind of table.
    ValidationError
        With every problem found.
    """
    if kind not in ("households", "projects"):
        raise ValueError(f"kind must be 'households' or 'projects', got {kind!r}")
    rows = None
    if mapping is not None:
        from .errors import ConfigError
        from .survey import apply_mapping, load_mapping

        spec = load_mapping(mapping)
        if spec.table != kind:
            raise ConfigError(
                f"mapping {spec.name!r} makes {spec.table}, not {kind}: give it "
                f"for the {spec.table} file instead"
            )
        problems = _repeated_problems(raw, source)  # a mapping reads by name
        if problems:
            raise ValidationError(problems)
        raw = apply_mapping(raw, spec, source=source)
        rows = [int(r) for r in raw.attrs["source_rows"]]
    if kind == "households":
        return validate_households(
            raw,
            source=source,
            taxonomy=taxonomy,
            secret=secret,
            townships=townships,
            row_offset=rows,
            keep_personal=keep_personal,
        )
    return validate_projects(
        raw, source=source, taxonomy=taxonomy, townships=townships, row_offset=rows
    )


#: Columns of a matches file (``matches.csv`` of ``zfb match``) that are
#: checked; the others (explanation, relevance, priority, ...) are kept.
_MATCH_SPECS = {
    spec.name: spec
    for spec in (
        ColumnSpec("matches", "household_id", "id", True, (), "the household"),
        ColumnSpec("matches", "project_id", "id", True, (), "the project"),
        ColumnSpec("matches", "amount", "float", True, (), "CNY, 0 or more"),
        ColumnSpec("matches", "score", "float", False, (), "a finite number"),
        ColumnSpec("matches", "share", "float", False, (), "crowdfunding, 0-1"),
    )
}
_SPLIT_MODES = ("crowdfunding",)
_WHOLE_MODES = ("single", "bundle", "custom")


def validate_matches(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    households: pd.DataFrame | None = None,
    projects: pd.DataFrame | None = None,
    mode: str | None = None,
    row_offset: int | Sequence[int] | None = None,
) -> pd.DataFrame:
    """Check a matches table, such as the ``matches.csv`` of ``zfb match``.

    Parameters
    ----------
    df : DataFrame
        Raw table (cells as text, as from :func:`read_table`).
    source : str, default "<DataFrame>"
        Name of the file, used in problem reports.
    households, projects : DataFrame, optional
        Canonical tables; when given, every ``household_id`` (``project_id``)
        of the matches must be one of theirs.
    mode : {"single", "bundle", "custom", "crowdfunding"}, optional
        The mode that made the matches. In crowdfunding a household may be
        matched to several projects (each pair once); in the other modes a
        household is in one row at most. Default: crowdfunding when the
        table has a ``share`` column (as crowdfunding's ``matches.csv``
        has), else one row per household.
    row_offset : int or sequence of int, optional
        See :func:`validate_households`.

    Returns
    -------
    DataFrame
        ``household_id`` and ``project_id`` (str), ``amount`` (float64, CNY,
        0 or more), ``score`` (float64, finite), ``share`` (float64, more
        than 0 and at most 1) when present; other columns kept as text after
        these. One row per match in file order, RangeIndex.

    Raises
    ------
    ValidationError
        With every problem found.
    """
    if mode is not None and mode not in _SPLIT_MODES + _WHOLE_MODES:
        raise ValueError(
            f"mode must be one of {_WHOLE_MODES + _SPLIT_MODES}, got {mode!r}"
        )
    rows = _source_rows(df, row_offset)
    header_row = df.attrs.get("header_row")
    df = df.reset_index(drop=True).fillna("").astype(str)
    chk = _Checker(df, source, "matches", rows, header_row)
    required = [n for n, spec in _MATCH_SPECS.items() if spec.required]
    chk.require(*required)
    for name in required:
        chk.not_empty(name)
    out: dict[str, pd.Series] = {}
    for name in ("household_id", "project_id"):
        if chk.present(name):
            chk.length(name, NAME_MAX)
            out[name] = chk.raw[name].astype("str")
    for name in ("amount", "score", "share"):
        if chk.present(name):
            out[name] = chk.number(name, integer=False)

    # households and projects the tables hold
    for name, table, word in (
        ("household_id", households, "households"),
        ("project_id", projects, "projects"),
    ):
        if table is None or not chk.present(name):
            continue
        col = chk.raw[name]
        known = set(table[name].astype(str))
        for i in col.index[(col != "") & ~col.isin(known)]:
            chk.add(i, chk.header(name), col[i], f"not in the {word} table")

    # one row per household, or per household and project
    split = mode in _SPLIT_MODES if mode is not None else chk.present("share")
    if chk.present("household_id") and not split:
        chk.unique(
            "household_id",
            rule="a household has one match in modes single, bundle and custom "
            "(only crowdfunding's matches, with a share column, may repeat it)",
        )
    elif chk.present("household_id") and chk.present("project_id"):
        pairs = chk.raw["household_id"] + "\x1f" + chk.raw["project_id"]
        chk.unique(
            "household_id",
            pairs.where(chk.raw["household_id"] != "", ""),
            rule="the household is matched to the same project twice",
        )
    order = [n for n in _MATCH_SPECS if n in out]
    return _finish(chk, {n: out[n] for n in order}, df)


#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A cell that :func:`_safe_cell` changes.
_UNSAFE = re.compile(r"^[=+\-@\t\r]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as formulas get a leading ``'``;
    control characters are removed (OWASP's advice on CSV injection)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        if s.dtype == "str":  # one vectorised pass finds the few cells to change
            unsafe = s.str.contains(_UNSAFE.pattern, regex=True, na=False)
            if unsafe.any():
                out.loc[unsafe, col] = s[unsafe].map(_safe_cell)
            continue
        # each distinct value once: id columns repeat a few thousand values
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        safe = [_safe_cell(v) for v in uniques]
        if all(a is b for a, b in zip(safe, uniques, strict=True)):
            continue
        values = np.asarray(safe, dtype=object)[codes]
        values[codes < 0] = None
        out[col] = pd.Series(values, index=s.index, dtype=s.dtype)
    return out


def _safe_cell(value):
    if not isinstance(value, str):
        return value
    text = _CONTROL.sub("", value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return value if text == value else text


#: Tables of at least this many rows are written by pyarrow's CSV writer,
#: about ten times faster than pandas' on a county's million eligible pairs.
_ARROW_ROWS = 200_000


def _write_csv_arrow(df: pd.DataFrame, path: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    options = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(table, path, write_options=options)


def write_table(df: pd.DataFrame, path: str | PathLike) -> Path:
    """Write a table to CSV (UTF-8) or XLSX, by the suffix of ``path``.

    The file is written to a temporary name in the same folder and renamed
    into place, so a reader never sees half a file and a failed write leaves
    any earlier file untouched. Numbers are written to 12 decimals, which
    drops the noise of binary fractions. Text cells that a spreadsheet would take for
    a formula (starting with ``=``, ``+``, ``-``, ``@``) are prefixed with
    ``'`` and control characters are dropped, so that opening an export in
    Excel runs nothing.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    if isinstance(df, pd.DataFrame):
        # 0.3451875, not 0.34518750000000004: float noise past 12 decimals
        df = _spreadsheet_safe(df).round(12)
    with replacing(path) as tmp:
        if path.suffix.lower() == ".xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        elif isinstance(df, pd.DataFrame) and len(df) >= _ARROW_ROWS:
            _write_csv_arrow(df, tmp)
        else:
            df.to_csv(tmp, index=False, encoding="utf-8")
    return path


@contextlib.contextmanager
def replacing(path: str | PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on success it replaces
    ``path`` (so a reader never sees half a file, and two writers each write
    their own), on failure it is removed and ``path`` is left as it was.

    The folder is made if missing; the file gets the permissions the umask
    gives, not the private ones of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
