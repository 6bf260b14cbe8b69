"""The taxonomy of causes of poverty (致贫原因) and of need kinds.

The taxonomy is data shipped inside the package (``zfb/data/causes.csv`` and
``zfb/data/need_kinds.csv``): eight primary categories, each with its
secondary causes, every node with a stable code, a Chinese and an English name
and aliases. The thirteen options of the national registry (因病, 因残, ...,
其他) map to primary categories through the ``registry`` column.

A county extends the taxonomy with a CSV of its own (same columns, secondary
causes only or new need kinds) through :func:`load_taxonomy`, without editing
code.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import pandas as pd

from .errors import Problem, UnknownCauseError, ValidationError

__all__ = [
    "Taxonomy",
    "drop_invisible",
    "load_taxonomy",
    "normalize_label",
    "REGISTRY_OPTIONS",
]

#: The thirteen cause options of the national registry (全国扶贫开发信息系统).
REGISTRY_OPTIONS: tuple[str, ...] = (
    "因病",
    "因残",
    "因学",
    "因灾",
    "因婚",
    "缺土地",
    "缺水",
    "缺技术",
    "缺资金",
    "缺劳力",
    "交通条件落后",
    "自身发展动力不足",
    "其他",
)

_CAUSE_COLUMNS = [
    "code",
    "level",
    "parent",
    "name_zh",
    "name_en",
    "aliases",
    "registry",
    "severity",
    "need_kinds",
]
_NEED_COLUMNS = ["code", "name_zh", "name_en", "aliases", "typical_amount"]


@functools.cache
def _invisible() -> re.Pattern[str]:
    chars = (chr(c) for c in range(sys.maxunicode + 1))
    found = "".join(c for c in chars if unicodedata.category(c) == "Cf")
    return re.compile(f"[{re.escape(found)}]")


def drop_invisible(text: str) -> str:
    """Text without its invisible format characters (Unicode category Cf).

    Zero-width spaces and joiners, direction marks and overrides, word
    joiners, soft hyphens and a byte-order mark inside the text show nothing,
    yet make ``"H1"`` and ``"H1\u200b"`` two values. They come with text
    pasted from web pages and chats.

    Examples
    --------
    >>> drop_invisible("H\u200b1\u200f")
    'H1'
    """
    return text if text.isascii() else _invisible().sub("", text)


def normalize_label(label: str) -> str:
    """Return the form of a label used for look-ups.

    Full-width characters become half-width (NFKC), case is folded,
    invisible characters (:func:`drop_invisible`) are removed and
    surrounding or repeated white space is dropped, so that ``"ＩＬＬ"``,
    ``" ill "``, ``"ILL\u200b"`` and ``"ILL"`` are the same label.
    """
    text = unicodedata.normalize("NFKC", drop_invisible(str(label))).casefold()
    return " ".join(text.split())


def _split(value: object) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(p.strip() for p in str(value).split("|") if p.strip())


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """Causes of poverty and need kinds, with look-up by any of their labels.

    Use :func:`load_taxonomy` to build one; the constructor takes tables that
    are already checked.

    Attributes
    ----------
    causes : DataFrame
        One row per cause, indexed by ``code``; columns ``level`` (1 primary,
        2 secondary), ``parent`` (primary code, empty for primaries),
        ``name_zh``, ``name_en``, ``aliases`` (tuple of str), ``registry``
        (tuple of registry options that map here), ``severity`` (1 to 3, 3 the
        most severe) and ``need_kinds`` (tuple of need-kind codes that
        typically answer the cause).
    need_kinds : DataFrame
        One row per need kind, indexed by ``code``; columns ``name_zh``,
        ``name_en``, ``aliases`` and ``typical_amount`` (CNY).
    version : str
        Version of the shipped taxonomy, followed by ``+name`` for each county
        extension applied.
    """

    causes: pd.DataFrame
    need_kinds: pd.DataFrame
    version: str
    _lookup: dict[str, str] = field(repr=False)
    _need_lookup: dict[str, str] = field(repr=False)

    # look-ups
    def resolve(self, label: str) -> str:
        """Return the cause code for a code, name (zh or en) or alias.

        Registry options such as ``"因病"`` resolve to their primary category.

        Raises
        ------
        UnknownCauseError
            If nothing matches; its ``suggestions`` list the nearest labels.
        """
        key = normalize_label(label)
        try:
            return self._lookup[key]
        except KeyError:
            raise UnknownCauseError(label, self.suggest(label)) from None

    def resolve_need_kind(self, label: str) -> str:
        """Return the need-kind code for a code, name or alias.

        Raises
        ------
        UnknownCauseError
            If nothing matches (need kinds share the look-up rules of causes).
        """
        key = normalize_label(label)
        try:
            return self._need_lookup[key]
        except KeyError:
            near = difflib.get_close_matches(key, list(self._need_lookup), n=3)
            raise UnknownCauseError(label, near) from None

    def is_cause(self, label: str) -> bool:
        """Whether ``label`` resolves to a cause."""
        return normalize_label(label) in self._lookup

    def is_need_kind(self, label: str) -> bool:
        """Whether ``label`` resolves to a need kind."""
        return normalize_label(label) in self._need_lookup

    def suggest(self, label: str, n: int = 3) -> list[str]:
        """Return up to ``n`` known labels closest to ``label``, best first.

        Labels that contain ``label`` (or are contained in it) come first,
        then the closest by :func:`difflib.get_close_matches`.
        """
        key = normalize_label(label)
        if not key:
            return []
        labels = list(self._lookup)
        near = [s for s in labels if key in s or (len(s) > 1 and s in key)]
        near.sort(key=lambda s: (abs(len(s) - len(key)), s))
        near += difflib.get_close_matches(key, labels, n=n, cutoff=0.5)
        out: list[str] = []
        for s in near:
            code = self._lookup[s]
            shown = f"{s} ({code})" if s != normalize_label(code) else code
            if shown not in out:
                out.append(shown)
        return out[:n]

    # structure
    def primary(self, code: str) -> str:
        """Return the primary category of a cause code (itself if primary)."""
        parent = self.causes.at[code, "parent"]
        return code if not parent else parent

    def children(self, code: str) -> list[str]:
        """Return the secondary causes of a primary code, in file order."""
        return self.causes.index[self.causes["parent"] == code].tolist()

    @property
    def primaries(self) -> list[str]:
        """Codes of the primary categories, in file order."""
        return self.causes.index[self.causes["level"] == 1].tolist()

    @property
    def secondaries(self) -> list[str]:
        """Codes of the secondary causes, in file order."""
        return self.causes.index[self.causes["level"] == 2].tolist()

    def severity(self, code: str) -> int:
        """Severity of a cause, 1 (least) to 3 (most severe)."""
        return int(self.causes.at[code, "severity"])

    def name(self, code: str, lang: str = "zh") -> str:
        """Name of a cause or need kind in ``"zh"`` or ``"en"``."""
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        col = f"name_{lang}"
        if code in self.causes.index:
            return str(self.causes.at[code, col])
        return str(self.need_kinds.at[code, col])

    def registry_map(self) -> dict[str, str]:
        """Map each registry option (因病, ..., 其他) to its primary code."""
        out = {}
        for code, options in self.causes["registry"].items():
            for opt in options:
                out[opt] = code
        return out

    def to_frame(self) -> pd.DataFrame:
        """The causes as printed by ``zfb causes``.

        Returns
        -------
        DataFrame
            Columns ``code, level, parent, name_zh, name_en``, one row per
            cause, primaries first, each followed by its secondaries.
        """
        order = []
        for p in self.primaries:
            order += [p, *self.children(p)]
        df = self.causes.loc[order, ["level", "parent", "name_zh", "name_en"]]
        return df.reset_index()


# loading
def _read_csv(source: str | PathLike | Path, columns: Sequence[str]) -> pd.DataFrame:
    df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(
            [
                Problem(str(source), 1, c, "", "required taxonomy column is missing")
                for c in missing
            ]
        )
    return df


def _check_and_build(
    causes: pd.DataFrame,
    needs: pd.DataFrame,
    version: str,
    sources: dict[int, tuple[str, int]],
    need_sources: dict[int, tuple[str, int]],
) -> Taxonomy:
    problems: list[Problem] = []

    def bad(src, col, value, rule):
        problems.append(Problem(src[0], src[1], col, str(value), rule))

    # causes: codes, levels and parents
    seen: dict[str, int] = {}
    levels: dict[str, int] = {}
    for i, row in causes.iterrows():
        src = sources[i]
        code = row["code"].strip()
        if not code:
            bad(src, "code", code, "code must not be empty")
            continue
        if code in seen:
            bad(src, "code", code, "code is already defined")
        seen[code] = i
        if row["level"] not in ("1", "2"):
            bad(src, "level", row["level"], "level must be 1 (primary) or 2")
            continue
        levels[code] = int(row["level"])
        if row["severity"] not in ("1", "2", "3"):
            bad(src, "severity", row["severity"], "severity must be 1, 2 or 3")
    for i, row in causes.iterrows():
        src = sources[i]
        if levels.get(row["code"]) == 2 and levels.get(row["parent"]) != 1:
            bad(src, "parent", row["parent"], "parent must be a primary cause code")
        if levels.get(row["code"]) == 1 and row["parent"]:
            bad(src, "parent", row["parent"], "a primary cause has no parent")

    # need kinds
    need_codes = set()
    for i, row in needs.iterrows():
        src = need_sources[i]
        if not row["code"] or row["code"] in need_codes:
            bad(src, "code", row["code"], "need-kind code must be unique, not empty")
        need_codes.add(row["code"])
        try:
            float(row["typical_amount"] or "nan")
        except ValueError:
            bad(src, "typical_amount", row["typical_amount"], "must be a number")
    for i, row in causes.iterrows():
        for k in _split(row["need_kinds"]):
            if k not in need_codes:
                bad(sources[i], "need_kinds", k, "unknown need-kind code")

    # labels must not collide across nodes
    lookup: dict[str, str] = {}
    for i, row in causes.iterrows():
        labels = [row["code"], row["name_zh"], row["name_en"], *_split(row["aliases"])]
        labels += list(_split(row["registry"]))
        for label in labels:
            key = normalize_label(label)
            if key in lookup and lookup[key] != row["code"]:
                bad(
                    sources[i],
                    "aliases",
                    label,
                    f"label already names cause {lookup[key]}",
                )
            lookup.setdefault(key, row["code"])
    need_lookup: dict[str, str] = {}
    for i, row in needs.iterrows():
        for label in [
            row["code"],
            row["name_zh"],
            row["name_en"],
            *_split(row["aliases"]),
        ]:
            key = normalize_label(label)
            if key in need_lookup and need_lookup[key] != row["code"]:
                bad(
                    need_sources[i], "aliases", label, "label already names a need kind"
                )
            need_lookup.setdefault(key, row["code"])
    if problems:
        raise ValidationError(problems)

    table = causes.assign(
        level=causes["level"].astype(int),
        severity=causes["severity"].astype(int),
        aliases=causes["aliases"].map(_split),
        registry=causes["registry"].map(_split),
        need_kinds=causes["need_kinds"].map(_split),
    ).set_index("code")
    need_table = needs.assign(
        aliases=needs["aliases"].map(_split),
        typical_amount=pd.to_numeric(needs["typical_amount"].replace("", None)),
    ).set_index("code")
    return Taxonomy(table, need_table, version, lookup, need_lookup)


@functools.lru_cache(maxsize=8)
def _load(extra: tuple[str, ...]) -> Taxonomy:
    data = resources.files("zfb") / "data"
    causes = _read_csv(data / "causes.csv", _CAUSE_COLUMNS)
    needs = _read_csv(data / "need_kinds.csv", _NEED_COLUMNS)
    version = (data / "causes_version.txt").read_text(encoding="utf-8").strip()
    sources = {i: ("zfb/data/causes.csv", i + 2) for i in range(len(causes))}
    need_sources = {i: ("zfb/data/need_kinds.csv", i + 2) for i in range(len(needs))}
    for path in extra:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        name = Path(path).stem
        if "typical_amount" in df.columns and "level" not in df.columns:
            df = _read_csv(path, _NEED_COLUMNS)[_NEED_COLUMNS]
            start = len(needs)
            needs = pd.concat([needs, df], ignore_index=True)
            need_sources.update({start + i: (str(path), i + 2) for i in range(len(df))})
        else:
            df = _read_csv(path, _CAUSE_COLUMNS[:5])
            for col in _CAUSE_COLUMNS:
                if col not in df.columns:
                    df[col] = "" if col != "severity" else "2"
            df["severity"] = df["severity"].replace("", "2")
            start = len(causes)
            causes = pd.concat([causes, df[_CAUSE_COLUMNS]], ignore_index=True)
            sources.update({start + i: (str(path), i + 2) for i in range(len(df))})
        version += f"+{name}"
    return _check_and_build(causes, needs, version, sources, need_sources)


def load_taxonomy(
    extra: str | PathLike | Iterable[str | PathLike] | None = None,
) -> Taxonomy:
    """Load the shipped taxonomy, optionally extended by a county's files.

    Parameters
    ----------
    extra : path or list of paths, optional
        CSV files that add causes (columns ``code, level, parent, name_zh,
        name_en`` and optionally ``aliases, registry, severity, need_kinds``)
        or need kinds (columns ``code, name_zh, name_en, aliases,
        typical_amount``). Aliases are separated by ``|``.

    Returns
    -------
    Taxonomy
        Cached: loading the same files twice returns the same object.

    Raises
    ------
    ValidationError
        If a file breaks a rule (duplicate code, unknown parent, a label that
        already names another cause...), with every problem listed.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> tax.resolve("尿毒症")
    'ILL.UREMIA'
    >>> tax.resolve("因病")
    'ILL'
    >>> tax.primary("EDU.COLLEGE")
    'EDU'
    """
    if extra is None:
        paths: tuple[str, ...] = ()
    elif isinstance(extra, (str, PathLike)):
        paths = (str(extra),)
    else:
        paths = tuple(str(p) for p in extra)
    return _load(paths)
