"""Verification flags: household records that deserve a second look.

A registry assembled by thousands of cadres holds double entries, typing
slips and causes that were ticked without being checked. Each check here is
a small named rule on the canonical households table (``docs/data-model.md``)
that picks out records a cadre should look at again; none of them proves a
record wrong. :func:`verification_flags` runs them all and returns one row
per (household, reason), in words a cadre can act on.

The checks, by flag:

``duplicate_across_villages``, ``duplicate_in_village``
    Several households with the same size, income, causes, need and every
    other trait recorded (see :func:`verification_flags` for the columns).
``income_vs_assets``
    An income far from what households with the same land, living space and
    labour report in the county.
``need_amount``
    A need amount many times the typical amount of its kind, for the
    household's size; or an amount with no need kind.
``need_kind_vs_causes``
    A need kind that none of the household's causes calls for.
``cause_vs_traits``
    A stated cause that the household's own traits contradict.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._causes import split_codes
from .errors import ConfigError, Problem, ValidationError, ZfbWarning
from .taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "CAUSE_TRAIT_RULES",
    "DUPLICATE_COLUMNS",
    "FLAGS",
    "CauseTraitRule",
    "verification_flags",
]

logger = logging.getLogger(__name__)

#: The flags :func:`verification_flags` can raise, in the order it reports them.
FLAGS: tuple[str, ...] = (
    "duplicate_across_villages",
    "duplicate_in_village",
    "income_vs_assets",
    "need_amount",
    "need_kind_vs_causes",
    "cause_vs_traits",
)

#: Trait columns compared by the duplicate checks, when present.
DUPLICATE_COLUMNS: tuple[str, ...] = (
    "size",
    "income_per_capita",
    "causes",
    "need_kind",
    "need_amount",
    "status",
    "arable_land_mu",
    "forest_land_mu",
    "living_space_m2",
    "unsafe_housing",
    "has_debt",
    "debt_amount",
    "labour_count",
    "members_ill",
    "members_disabled",
    "children_in_school",
    "elderly_count",
)
# fewer compared columns than this and identical records are too often chance
_MIN_DUPLICATE_COLUMNS = 6

# need kinds whose typical amount is for one person of a kind
_PER_PERSON_KIND = {
    "tuition": "children_in_school",
    "medical_costs": "members_ill",
    "rehabilitation": "members_disabled",
    "basic_living": "size",
}

# a modified z-score beyond this marks an outlier (Iglewicz and Hoaglin)
_OUTLIER_Z = 3.5


@dataclass(frozen=True)
class CauseTraitRule:
    """A stated cause that a trait of the same household contradicts.

    Attributes
    ----------
    causes : str
        Regular expression of the cause codes concerned (matched against
        each whole code).
    column : str
        Trait column that contradicts them.
    contradicts : callable
        Takes the column as a float array (NaN where missing) and returns a
        bool array, True where the value contradicts the cause.
    says : str
        What the trait shows, completing "lists <cause> but ..."; ``{value}``
        is replaced by the household's value.
    """

    causes: str
    column: str
    contradicts: Callable[[np.ndarray], np.ndarray]
    says: str


#: The cause-trait conflicts checked by the ``cause_vs_traits`` flag.
CAUSE_TRAIT_RULES: tuple[CauseTraitRule, ...] = (
    CauseTraitRule(
        r"EDU(?:\.[A-Z_]+)?", "children_in_school", lambda v: v == 0,
        "no child is in school",
    ),
    CauseTraitRule(
        r"EDU\.MULTI_CHILD", "children_in_school", lambda v: v == 1,
        "only one child is in school",
    ),
    CauseTraitRule(
        r"LAB\.NO_ADULT", "labour_count", lambda v: v > 0,
        "{value} member(s) are able to work",
    ),
    CauseTraitRule(
        r"RES\.UNSAFE_HOUSE", "unsafe_housing", lambda v: v == 0,
        "the house is not recorded as unsafe",
    ),
    CauseTraitRule(
        r"ILL(?:\.[A-Z_]+)?", "members_ill", lambda v: v == 0,
        "no member is recorded as ill",
    ),
    CauseTraitRule(
        r"DIS(?:\.[A-Z_]+)?", "members_disabled", lambda v: v == 0,
        "no member is recorded as disabled",
    ),
    CauseTraitRule(
        r"RES\.NO_LAND", "arable_land_mu", lambda v: v > 0,
        "it has {value} mu of arable land",
    ),
    CauseTraitRule(
        r"CAP\.DEBT_[A-Z_]+", "has_debt", lambda v: v == 0,
        "it is recorded as having no debt",
    ),
    CauseTraitRule(
        r"FAM\.ELDERLY_ALONE", "size", lambda v: v > 1,
        "the household has {value} members",
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _numeric(table: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float, NaN where missing or absent."""
    if column not in table.columns:
        return np.full(len(table), np.nan)
    col = table[column]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan)
    values = pd.to_numeric(col.astype("object"), errors="coerce")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _fmt(values: np.ndarray) -> np.ndarray:
    """Numbers as a person writes them: no trailing .0, thousands separated."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if np.isnan(v):
            out[i] = "unknown"
        elif float(v).is_integer():
            out[i] = f"{int(v):,}"
        else:
            out[i] = f"{v:,.1f}"
    return out


def _rows(
    ids: pd.Series, mask: np.ndarray, flag: str, reasons: Sequence[str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ids.to_numpy()[mask],
            "flag": flag,
            "reason": np.asarray(reasons, dtype=object),
            "_row": np.flatnonzero(mask),
        }
    )


def _distinct(causes: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Ids of each household's ``causes`` string and the distinct strings.

    Work on causes is done once per distinct string (a county has far fewer
    combinations than households) and spread back with ``values[ids]``.
    """
    text = causes.fillna("").astype(str).str.replace(" ", "", regex=False)
    ids, uniques = pd.factorize(text, use_na_sentinel=False)
    return ids, pd.Series(uniques, dtype=object)


def _codes_key(causes: pd.Series) -> pd.Series:
    """The set of cause codes of each household as one sorted string."""
    ids, uniques = _distinct(causes)
    keys = uniques.str.split(";").map(lambda xs: ";".join(sorted(x for x in xs if x)))
    return pd.Series(keys.to_numpy(dtype=object)[ids], index=causes.index)


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------
def _duplicates(hh: pd.DataFrame, columns: Sequence[str]) -> list[pd.DataFrame]:
    """Households identical on ``columns``, across villages or within one."""
    key = hh[list(columns)].copy()
    if "causes" in key.columns:
        key["causes"] = _codes_key(key["causes"])
    for col in key.columns:
        key[col] = key[col].astype("object").where(key[col].notna(), "\x00NA")
    group = key.groupby(list(key.columns), sort=False, dropna=False).ngroup().to_numpy()
    sizes = np.bincount(group)
    dup = sizes[group] > 1
    if not dup.any():
        return []
    village = (
        hh["village"].astype("object").fillna("(no village)")
        if "village" in hh.columns
        else pd.Series("(no village)", index=hh.index, dtype=object)
    )
    frame = pd.DataFrame(
        {
            "group": group[dup],
            "row": np.flatnonzero(dup),
            "id": hh["household_id"].to_numpy()[dup],
            "village": village.to_numpy()[dup],
            "township": hh["township"].astype("object").to_numpy()[dup]
            if "township" in hh.columns
            else "",
        }
    )
    n_villages = frame.groupby("group")["village"].transform("nunique").to_numpy()
    # the others of each group, named (at most three)
    listed = frame.groupby("group")["id"].agg(list)
    others = [
        ", ".join([x for x in listed[g] if x != i][:3])
        + (" ..." if len(listed[g]) > 4 else "")
        for g, i in zip(frame["group"], frame["id"], strict=True)
    ]
    same = "same " + ", ".join(c.replace("_", " ") for c in columns)
    out = []
    across = n_villages > 1
    if across.any():
        reasons = [
            f"{same} as {o} in {n} villages; one household may be registered twice"
            for o, n in zip(
                np.array(others, dtype=object)[across], n_villages[across], strict=True
            )
        ]
        out.append(
            pd.DataFrame(
                {
                    "household_id": frame["id"].to_numpy()[across],
                    "flag": "duplicate_across_villages",
                    "reason": reasons,
                    "_row": frame["row"].to_numpy()[across],
                }
            )
        )
    within = ~across
    if within.any():
        reasons = [
            f"{same} as {o} in the same village ({v}); the record may have been "
            "entered twice"
            for o, v in zip(
                np.array(others, dtype=object)[within],
                frame["village"].to_numpy()[within],
                strict=True,
            )
        ]
        out.append(
            pd.DataFrame(
                {
                    "household_id": frame["id"].to_numpy()[within],
                    "flag": "duplicate_in_village",
                    "reason": reasons,
                    "_row": frame["row"].to_numpy()[within],
                }
            )
        )
    return out


def _income_outliers(hh: pd.DataFrame, z_cut: float) -> list[pd.DataFrame]:
    """Incomes far from what land, living space and labour predict."""
    size = _numeric(hh, "size")
    income = _numeric(hh, "income_per_capita")
    traits = {
        "arable land": _numeric(hh, "arable_land_mu") / size,
        "forest land": _numeric(hh, "forest_land_mu") / size,
        "living space": _numeric(hh, "living_space_m2") / size,
        "labour": _numeric(hh, "labour_count") / size,
    }
    traits = {k: v for k, v in traits.items() if not np.isnan(v).all()}
    if not traits or not {"arable land", "living space"} & set(traits):
        logger.info("income_vs_assets skipped: no land or living-space column")
        return []
    names = list(traits)
    X = np.column_stack(
        [np.ones(len(hh)), np.log1p(size)]
        + [np.log1p(np.maximum(traits[k], 0)) for k in names]
    )
    y = np.log1p(income)
    ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
    if ok.sum() < 10 * X.shape[1]:
        logger.info("income_vs_assets skipped: %d complete households", ok.sum())
        return []

    # fit, residuals, modified z-scores
    beta, *_ = np.linalg.lstsq(X[ok], y[ok], rcond=None)
    fitted = X @ beta
    resid = y - fitted
    med = np.median(resid[ok])
    mad = np.median(np.abs(resid[ok] - med))
    if mad == 0:
        return []
    z = 0.6745 * (resid - med) / mad
    mask = ok & (np.abs(z) > z_cut)
    if not mask.any():
        return []
    expected = np.expm1(fitted[mask])
    got = income[mask]
    ratio = np.where(got > 0, got / np.maximum(expected, 1.0), np.nan)
    what = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    peers = f"what households with similar {what} per person report (about {{}})"
    reasons = []
    for g, e, r, zz in zip(
        _fmt(got), _fmt(np.round(expected, -1)), ratio, z[mask], strict=True
    ):
        if np.isnan(r):
            text = "no income is recorded, against " + peers.format(e)
        elif r >= 1:
            text = f"income of {g} CNY per person is {r:.1f} times " + peers.format(e)
        else:
            text = f"income of {g} CNY per person is 1/{1 / r:.0f} of " + peers.format(
                e
            )
        reasons.append(f"{text}; modified z-score {zz:+.1f}")
    return [_rows(hh["household_id"], mask, "income_vs_assets", reasons)]


def _need_amounts(hh: pd.DataFrame, tax: Taxonomy, factor: float) -> list[pd.DataFrame]:
    """Need amounts many times the typical amount of their kind."""
    if "need_amount" not in hh.columns or "need_kind" not in hh.columns:
        return []
    amount = _numeric(hh, "need_amount")
    kind = hh["need_kind"].astype("object")
    typical = kind.map(tax.need_kinds["typical_amount"].to_dict()).to_numpy(dtype=float)
    persons = np.ones(len(hh))
    for k, col in _PER_PERSON_KIND.items():
        count = _numeric(hh, col)
        rows = (kind == k).to_numpy() & np.isfinite(count)
        persons[rows] = np.maximum(count[rows], 1)
    limit = factor * typical * persons
    out = []
    high = np.isfinite(amount) & np.isfinite(limit) & (amount > limit)
    if high.any():
        per = [
            f" for {int(p)} {'people' if c == 'size' else c.replace('_', ' ')}"
            if p > 1
            else ""
            for p, c in zip(
                persons[high],
                kind[high].map(_PER_PERSON_KIND).fillna("").to_numpy(),
                strict=True,
            )
        ]
        reasons = [
            f"asks {a} CNY for {k}, {r:.0f} times the typical {t} CNY{p}"
            for a, k, r, t, p in zip(
                _fmt(amount[high]),
                kind[high].to_numpy(),
                amount[high] / (typical[high] * persons[high]),
                _fmt(typical[high] * persons[high]),
                per,
                strict=True,
            )
        ]
        out.append(_rows(hh["household_id"], high, "need_amount", reasons))
    orphan = np.isfinite(amount) & (amount > 0) & kind.isna().to_numpy()
    if orphan.any():
        reasons = [
            f"asks {a} CNY but does not say for what (need kind is empty)"
            for a in _fmt(amount[orphan])
        ]
        out.append(_rows(hh["household_id"], orphan, "need_amount", reasons))
    return out


def _need_kind_vs_causes(hh: pd.DataFrame, tax: Taxonomy) -> list[pd.DataFrame]:
    """Need kinds that none of the household's causes calls for."""
    if "need_kind" not in hh.columns:
        return []
    causes = tax.causes
    primary = causes["parent"].where(causes["parent"] != "", causes.index.to_series())
    kinds_of = {
        code: set(causes.at[code, "need_kinds"])
        | set(causes.at[primary[code], "need_kinds"])
        for code in causes.index
    }
    kind = hh["need_kind"].astype("object")
    has_kind = kind.notna().to_numpy()
    if not has_kind.any():
        return []
    pairs = split_codes(hh["causes"])
    pairs = pairs[has_kind[pairs["row"].to_numpy()]]
    # (cause code, need kind) pairs the taxonomy allows, as one key each
    allowed = {f"{c}\x00{k}" for c, kinds in kinds_of.items() for k in kinds}
    rows = pairs["row"].to_numpy()
    asked = pd.Series(kind.to_numpy(dtype=object)[rows], dtype=object).astype(str)
    keys = pairs["code"].astype(str).reset_index(drop=True) + "\x00" + asked
    fits = np.zeros(len(hh), dtype=bool)
    fits[rows[keys.isin(allowed).to_numpy()]] = True
    bad = has_kind & ~fits
    # unknown kinds are for validation, not for this check
    bad &= kind.isin(tax.need_kinds.index).to_numpy()
    if not bad.any():
        return []
    names = tax.need_kinds["name_en"].to_dict()
    reasons = [
        f"asks for {k} ({names[k]}), which none of its causes ({c}) usually calls for"
        for k, c in zip(
            kind.to_numpy()[bad], hh["causes"].astype(str).to_numpy()[bad], strict=True
        )
    ]
    return [_rows(hh["household_id"], bad, "need_kind_vs_causes", reasons)]


def _cause_vs_traits(hh: pd.DataFrame, tax: Taxonomy) -> list[pd.DataFrame]:
    """Stated causes that the household's traits contradict."""
    ids, uniques = _distinct(hh["causes"])
    out = []
    for rule in CAUSE_TRAIT_RULES:
        if rule.column not in hh.columns:
            continue
        pattern = rf"(?:^|;)({rule.causes})(?=;|$)"
        found = uniques.str.extract(pattern, expand=False).to_numpy(dtype=object)
        code = pd.Series(found[ids] if len(found) else [], dtype=object)
        value = _numeric(hh, rule.column)
        with np.errstate(invalid="ignore"):
            bad = code.notna().to_numpy() & np.isfinite(value) & rule.contradicts(value)
        if not bad.any():
            continue
        names = code[bad].map(
            lambda c: tax.causes.at[c, "name_en"] if c in tax.causes.index else c
        )
        says = [rule.says.format(value=v) for v in _fmt(value[bad])]
        reasons = [
            f"lists {c} ({n}) but {s} ({rule.column})"
            for c, n, s in zip(code[bad], names, says, strict=True)
        ]
        out.append(_rows(hh["household_id"], bad, "cause_vs_traits", reasons))
    return out


# ---------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------
def verification_flags(
    households: pd.DataFrame,
    *,
    checks: Sequence[str] | None = None,
    duplicate_columns: Sequence[str] | None = None,
    income_z: float = _OUTLIER_Z,
    need_factor: float = 5.0,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Records that deserve a second look, each with the reason in words.

    Parameters
    ----------
    households : DataFrame
        Canonical households table: ``household_id`` and ``causes`` are
        required; every other column is used where present.
    checks : sequence of str, optional
        Flags to check, from :data:`FLAGS` (both duplicate flags come from
        one check: name either); default all.
    duplicate_columns : sequence of str, optional
        Columns that must all be equal for two households to be duplicates;
        default every column of :data:`DUPLICATE_COLUMNS` the table has.
        ``causes`` compares the set of codes, in any order; missing values
        are equal to each other.
    income_z : float, default=3.5
        Modified z-score beyond which an income is out of line with the
        household's land, living space and labour.
    need_factor : float, default=5.0
        A need amount above this many times the typical amount of its kind
        (per person for per-person kinds, see Notes) is flagged.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`: its need kinds give the typical
        amounts and the kinds each cause calls for.

    Returns
    -------
    DataFrame
        Tidy, one row per (household, reason), RangeIndex, ordered by the
        household's row and then by flag in :data:`FLAGS` order; columns
        ``household_id`` (str), ``flag`` (str, from :data:`FLAGS`) and
        ``reason`` (str, plain words naming the values concerned). A
        household with no flag has no row; a household can have several.

    Raises
    ------
    ValidationError
        If ``household_id`` or ``causes`` is missing, or a duplicate column
        is not in the table.
    ConfigError
        If a check name is unknown or a threshold is not positive.

    Warns
    -----
    ZfbWarning
        When the duplicate check compares fewer than six columns: identical
        records are then often chance, and the check is skipped. Pass
        ``duplicate_columns`` to run it on the columns you trust.

    Notes
    -----
    The rules, in order:

    - **Duplicates.** Households equal on every compared column form a
      group; each household of a group of two or more is flagged,
      ``duplicate_across_villages`` when the group spans several villages,
      ``duplicate_in_village`` when it lies in one.
    - **Income against assets.** ``log(1 + income_per_capita)`` is
      regressed (least squares) on ``log(1 + x)`` of size and of arable
      land, forest land, living space and labour per person (those
      present); a household whose residual has a modified z-score
      ``0.6745 (r - median) / MAD`` beyond ``income_z`` is flagged [1]_.
      A county where income does not follow assets at all flags few
      households; the check needs land or living space.
    - **Need amount.** ``need_amount > need_factor * typical_amount``, the
      typical amount of the need kind (``zfb causes`` lists them) times the
      number of children in school for ``tuition``, of ill members for
      ``medical_costs``, of disabled members for ``rehabilitation`` and of
      members for ``basic_living``; and an amount above 0 with no need kind.
    - **Need kind against causes.** The need kind is not among the need
      kinds of any of the household's causes or of their primary
      categories.
    - **Cause against traits.** The rules of :data:`CAUSE_TRAIT_RULES`:
      a schooling cause with no child in school, ``EDU.MULTI_CHILD`` with
      one child in school, ``LAB.NO_ADULT`` with members able to work,
      ``RES.UNSAFE_HOUSE`` without ``unsafe_housing``, an illness with no
      member ill, a disability with no member disabled, ``RES.NO_LAND``
      with arable land, a ``CAP.DEBT_*`` cause without ``has_debt``,
      ``FAM.ELDERLY_ALONE`` in a household of several members. A rule
      whose column is absent, or missing for a household, is not applied.

    Every check is a few vectorised operations over the whole table; one
    million households take some seconds, mostly in building the reasons
    of the flagged rows.

    References
    ----------
    .. [1] Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle
       Outliers*. ASQC Quality Press.

    Examples
    --------
    >>> import pandas as pd
    >>> hh = pd.DataFrame({"household_id": ["a", "b"],
    ...                    "causes": ["LAB.NO_ADULT", "EDU.JUNIOR"],
    ...                    "labour_count": [2, 0], "children_in_school": [0, 1]})
    >>> flags = verification_flags(hh, checks=["cause_vs_traits"])
    >>> flags[["household_id", "flag"]]
      household_id             flag
    0            a  cause_vs_traits
    >>> flags["reason"].iloc[0][:48]
    'lists LAB.NO_ADULT (no working-age adult) but 2 '
    """
    required = [c for c in ("household_id", "causes") if c not in households.columns]
    if required:
        raise ValidationError(
            Problem(
                "<households>", None, c, "", "required column of the households table"
            )
            for c in required
        )
    chosen = list(FLAGS) if checks is None else list(checks)
    unknown = [c for c in chosen if c not in FLAGS]
    if unknown:
        raise ConfigError(f"unknown check(s) {unknown}; choose from {', '.join(FLAGS)}")
    for value, name in ((income_z, "income_z"), (need_factor, "need_factor")):
        if not np.isfinite(value) or value <= 0:
            raise ConfigError(f"{name} must be a positive number; got {value}")
    tax = taxonomy or load_taxonomy()
    hh = households.reset_index(drop=True)

    parts: list[pd.DataFrame] = []
    if {"duplicate_across_villages", "duplicate_in_village"} & set(chosen):
        if duplicate_columns is None:
            columns = [c for c in DUPLICATE_COLUMNS if c in hh.columns]
            if len(columns) < _MIN_DUPLICATE_COLUMNS:
                warnings.warn(
                    f"duplicate check skipped: only {len(columns)} of its columns "
                    f"({', '.join(columns)}) are in the table, and households equal "
                    "on so few are often different households; pass "
                    "duplicate_columns=[...] to run it anyway",
                    ZfbWarning,
                    stacklevel=2,
                )
                columns = []
        else:
            columns = list(duplicate_columns)
            missing = [c for c in columns if c not in hh.columns]
            if missing:
                raise ValidationError(
                    Problem("<households>", None, c, "", "duplicate column is missing")
                    for c in missing
                )
        if columns:
            found = _duplicates(hh, columns)
            parts += [p for p in found if p["flag"].iloc[0] in chosen]
    if "income_vs_assets" in chosen:
        parts += _income_outliers(hh, income_z)
    if "need_amount" in chosen:
        parts += _need_amounts(hh, tax, need_factor)
    if "need_kind_vs_causes" in chosen:
        parts += _need_kind_vs_causes(hh, tax)
    if "cause_vs_traits" in chosen:
        parts += _cause_vs_traits(hh, tax)

    if not parts:
        return pd.DataFrame(
            {"household_id": pd.Series(dtype="str"), "flag": pd.Series(dtype="str"),
             "reason": pd.Series(dtype="str")}
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["_flag"] = out["flag"].map({f: i for i, f in enumerate(FLAGS)})
    out = out.sort_values(["_row", "_flag"], kind="stable")
    counts = out["flag"].value_counts()
    logger.debug(
        "verification_flags: %d flag(s) on %d household(s): %s",
        len(out),
        out["household_id"].nunique(),
        counts.to_dict(),
    )
    out = out[["household_id", "flag", "reason"]].reset_index(drop=True)
    return out.astype({"household_id": "str", "flag": "str", "reason": "str"})
