"""Reading, validating and writing the households and projects tables.

A file goes through four steps: read every cell as text (CSV in UTF-8, UTF-8
with a BOM, GB18030/GBK or UTF-16, or XLSX); map its headers, Chinese or
English, to the canonical columns of ``docs/columns.md``; check every value
against its column's rule, collecting all problems before raising; and convert
to the canonical table of ``docs/data-model.md``, with national ID numbers
turned into keyed pseudonyms and names and phone numbers dropped.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Problem, UnknownCauseError, ValidationError
from .pseudonym import check_id_number, load_secret, mask, pseudonymize
from .schema import canonical_header, column_specs
from .taxonomy import Taxonomy, load_taxonomy, normalize_label

__all__ = [
    "read_households",
    "read_projects",
    "read_table",
    "validate_households",
    "validate_projects",
    "write_table",
    "SEPARATORS",
]

logger = logging.getLogger(__name__)

#: Characters that separate several causes, tags or townships in one cell.
SEPARATORS = ";；、,，|"
_SPLIT = re.compile(r"\s*[;；、,，|]\s*")
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
}


# reading
def _decode(data: bytes, name: str) -> str:
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name}: the file starts as {codec.upper()} but byte "
                    f"{exc.start} is not valid {codec.upper()}; save it again "
                    "as CSV UTF-8"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pos = utf8_error.start
        raise InputError(
            f"{name}: cannot decode the file as UTF-8 (bad byte "
            f"0x{data[pos]:02x} at offset {pos}) nor as GB18030/GBK; save it "
            "as CSV UTF-8 (or XLSX) and try again"
        ) from None
    logger.info("%s: decoded as GB18030 (GBK)", name)
    return text


def read_table(path: str | PathLike) -> pd.DataFrame:
    """Read a CSV or XLSX file with every cell as text.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.txt`` or ``.tsv`` (UTF-8, UTF-8 with BOM, GB18030/GBK or
        UTF-16; comma- or tab-separated) or ``.xlsx`` (first sheet).

    Returns
    -------
    DataFrame
        One column per header, every cell a ``str`` (empty string when blank),
        index 0..n-1 where row ``i`` is row ``i + 2`` of the file.

    Raises
    ------
    InputError
        If the file is missing, empty, of an unknown format or encoding, or
        not a well-formed table.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, dtype=str, keep_default_na=False, sheet_name=0)
        except Exception as exc:  # openpyxl raises many types on bad files
            raise InputError(f"{name}: not a readable XLSX file ({exc})") from None
    elif suffix == ".xls":
        raise InputError(
            f"{name}: the old Excel format (.xls) is not read; save it as .xlsx "
            "or as CSV UTF-8"
        )
    elif suffix in (".csv", ".txt", ".tsv", ""):
        text = _decode(path.read_bytes(), name)
        if not text.strip():
            raise InputError(f"{name}: the file is empty")
        first = text.split("\n", 1)[0]
        sep = "\t" if suffix == ".tsv" or first.count("\t") > first.count(",") else ","
        try:
            with warnings.catch_warnings():
                # a trailing comma on every row is common and harmless
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                df = pd.read_csv(
                    io.StringIO(text),
                    sep=sep,
                    dtype=str,
                    keep_default_na=False,
                    index_col=False,  # a trailing comma must not shift the columns
                )
        except pd.errors.ParserError as exc:
            raise InputError(f"{name}: not a well-formed table: {exc}") from None
    else:
        raise InputError(
            f"{name}: unknown file type {suffix!r}; give a .csv or .xlsx file"
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df.fillna("").astype(str)


# checking values
class _Checker:
    """Collects the problems of one table while converting its columns."""

    def __init__(self, df: pd.DataFrame, source: str, table: str, row_offset):
        self.source = source
        self.table = table
        self.row_offset = row_offset
        self.problems: list[Problem] = []
        self.specs = column_specs(table)
        self.headers: dict[str, str] = {}  # canonical name -> header in file
        self.extras: list[str] = []
        self.raw = self._map_headers(df)

    def _map_headers(self, df: pd.DataFrame) -> pd.DataFrame:
        columns = {}
        for header in df.columns:
            name = canonical_header(header, self.table)
            if name is None:
                self.extras.append(header)
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
            columns[name] = df[header]
        raw = pd.DataFrame(columns, index=df.index)
        return raw.apply(_clean_column) if len(raw.columns) else raw

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
                    f"required column is missing (also accepted: {accepted})",
                )

    def present(self, name: str) -> bool:
        return name in self.raw.columns

    def not_empty(self, name: str) -> None:
        if not self.present(name):
            return
        col = self.raw[name]
        for i in col.index[col == ""]:
            self.add(i, self.header(name), "", "a value is required")

    def unique(self, name: str, values: pd.Series | None = None) -> None:
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
                    f"duplicate of row {self.row_of(j)}; must be unique",
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


def _clean_cell(value: str) -> str:
    text = unicodedata.normalize("NFKC", value) if not value.isascii() else value
    return text.strip()


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


def _finish(checker: _Checker, out: dict[str, pd.Series], df: pd.DataFrame):
    if checker.problems:
        checker.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise ValidationError(checker.problems)
    table = pd.DataFrame(out, index=df.index)
    for header in checker.extras:
        if header not in table.columns:
            table[header] = df[header].values
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
    row_offset: int | Sequence[int] = 2,
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
    row_offset : int or sequence of int, default 2
        Added to the 0-based position to give the row a person sees (the
        header is row 1); or, for a table made by a survey mapping, the row
        of the survey file each row came from.
    keep_personal : bool, default False
        Keep the ``name`` and ``phone`` columns, for a store that shows them
        to the cadres of the household's village. The national ID number is
        never kept.

    Returns
    -------
    DataFrame
        The canonical households table of ``docs/data-model.md``: one row per
        household in file order, RangeIndex; ``causes`` as codes joined by
        ``;`` (main cause first); no ``name``, ``phone`` or ``id_number``.
        Columns not in the specification are kept at the end, as they were.

    Raises
    ------
    ValidationError
        With every problem found (file, row, column, value, rule).
    ConfigError
        If the table has ID numbers and no pseudonym key is set.
    """
    tax = taxonomy or load_taxonomy()
    df = df.reset_index(drop=True).fillna("").astype(str)
    chk = _Checker(df, source, "households", row_offset)
    raw = chk.raw
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
            out[name] = chk.codes(
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
            ).replace("", pd.NA)
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
    if "need_kind" in table.columns:
        many = table["need_kind"].str.contains(";", na=False)
        if many.any():
            table.loc[many, "need_kind"] = (
                table.loc[many, "need_kind"].str.split(";").str[0]
            )
    for name in ("size",):
        table[name] = table[name].astype("int64")
    return table


def validate_projects(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    taxonomy: Taxonomy | None = None,
    townships: Iterable[str] | None = None,
    row_offset: int | Sequence[int] = 2,
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
    row_offset : int, default 2
        See :func:`validate_households`.

    Returns
    -------
    DataFrame
        The canonical projects table of ``docs/data-model.md``: ``tags`` as
        cause and need-kind codes joined by ``;``, ``townships`` as names
        joined by ``;`` or ``*``, ``modes`` as a subset of ``single``,
        ``crowdfunding``, ``bundle``, ``custom`` joined by ``;``.

    Raises
    ------
    ValidationError
        With every problem found.
    """
    tax = taxonomy or load_taxonomy()
    df = df.reset_index(drop=True).fillna("").astype(str)
    chk = _Checker(df, source, "projects", row_offset)
    out: dict[str, pd.Series] = {}
    chk.require("project_id", "funder", "tags", "budget", "capacity")
    for name in ("project_id", "funder", "tags", "budget", "capacity"):
        chk.not_empty(name)
    if chk.present("project_id"):
        chk.unique("project_id")

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

    Returns
    -------
    DataFrame
        See :func:`validate_households`.

    Raises
    ------
    InputError
        If the file cannot be read.
    ValidationError
        With every problem found in it.
    """
    raw, rows = _mapped(path, mapping, "households")
    return validate_households(
        raw,
        source=str(path),
        taxonomy=taxonomy,
        secret=secret,
        townships=townships,
        row_offset=rows,
        keep_personal=keep_personal,
    )


def read_projects(
    path: str | PathLike,
    *,
    taxonomy: Taxonomy | None = None,
    townships: Iterable[str] | None = None,
    mapping: str | PathLike | None = None,
) -> pd.DataFrame:
    """Read a projects file (CSV or XLSX) into the canonical table.

    ``mapping`` names a shipped mapping or a mapping file that turns another
    table (for example Kiva's loan themes) into projects, as in
    :func:`read_households`. See :func:`validate_projects` for the result and
    the errors raised.
    """
    raw, rows = _mapped(path, mapping, "projects")
    return validate_projects(
        raw, source=str(path), taxonomy=taxonomy, townships=townships, row_offset=rows
    )


def _mapped(path, mapping, table: str):
    """Read ``path``, through a survey mapping when one is given."""
    raw = read_table(path)
    if mapping is None:
        return raw, 2
    from .errors import ConfigError
    from .survey import apply_mapping, load_mapping

    spec = load_mapping(mapping)
    if spec.table != table:
        raise ConfigError(
            f"mapping {spec.name!r} makes {spec.table}, not {table}: give it "
            f"for the {spec.table} file instead"
        )
    out = apply_mapping(raw, spec, source=str(path))
    rows = out.attrs.get("source_rows")
    return out, (2 if rows is None else [int(r) for r in rows])


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
    any earlier file untouched. Text cells that a spreadsheet would take for
    a formula (starting with ``=``, ``+``, ``-``, ``@``) are prefixed with
    ``'`` and control characters are dropped, so that opening an export in
    Excel runs nothing.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    df = _spreadsheet_safe(df) if isinstance(df, pd.DataFrame) else df
    try:
        if path.suffix.lower() == ".xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        elif isinstance(df, pd.DataFrame) and len(df) >= _ARROW_ROWS:
            _write_csv_arrow(df, tmp)
        else:
            df.to_csv(tmp, index=False, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; use the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
