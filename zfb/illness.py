"""Illness-related poverty and training needs, by township.

Two breakdowns of the canonical households table (``docs/data-model.md``)
that a county health bureau and its employment office plan from:
:func:`illness_breakdown` counts the households poor because of each
illness (the ``ILL.*`` secondary causes), :func:`training_needs` those
that lack each skill (the skill causes of ``LAB``), each by township (or
any other column) and for the county.

A household listing several causes counts once under each of them, as the
registry's multi-cause figures do; a household listing only the primary
code ``ILL`` counts under ``ILL`` ("illness, not specified").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._causes import split_codes
from .errors import ConfigError, Problem, ValidationError
from .taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "SKILL_CAUSES",
    "illness_breakdown",
    "plot_breakdown",
    "training_needs",
]

logger = logging.getLogger(__name__)

#: Causes of the ``LAB`` category that a training course can answer; the
#: others (no or weak labour, care burden, ageing, no job information,
#: unemployment) call for other help.
SKILL_CAUSES: tuple[str, ...] = (
    "LAB.FARM_SKILL",
    "LAB.HUSBANDRY_SKILL",
    "LAB.TRADE_SKILL",
    "LAB.CONSTRUCTION",
    "LAB.DRIVING",
    "LAB.SERVICE_SKILL",
    "LAB.ECOMMERCE",
    "LAB.ILLITERATE",
    "LAB.NO_MANDARIN",
)


def _by(households: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    missing = [c for c in ["causes", *cols] if c not in households.columns]
    if missing:
        raise ValidationError(
            Problem("<households>", None, c, "", "required column is missing")
            for c in missing
        )
    return cols


def _pairs(households: pd.DataFrame) -> pd.DataFrame:
    """One row per (household position, cause code), each pair once."""
    pairs = split_codes(households["causes"])
    return pairs[["row", "code"]].rename(columns={"code": "cause"})


def _breakdown(
    households: pd.DataFrame,
    cols: list[str],
    wanted: Sequence[str],
    any_name: str,
    tax: Taxonomy,
    extra: pd.Series | None = None,
    extra_name: str = "",
) -> pd.DataFrame:
    """Counts of households under each of ``wanted`` causes, by ``cols``."""
    hh = households.reset_index(drop=True)
    pairs = _pairs(hh)
    pairs = pairs[pairs["cause"].isin(wanted)]
    groups = hh[cols]
    keys = cols or ["_all"]
    if not cols:
        groups = pd.DataFrame({"_all": np.zeros(len(hh), dtype=int)})
    long = pd.concat(
        [groups.iloc[pairs["row"].to_numpy()].reset_index(drop=True),
         pairs.reset_index(drop=True)],
        axis=1,
    )  # fmt: skip

    # counts per (group, cause), households under any of them, totals
    counts = long.groupby([*keys, "cause"], dropna=False, sort=False).size()
    out = counts.rename("households").reset_index()
    total = groups.groupby(keys, dropna=False).size().rename("total")
    any_rows = long.drop_duplicates("row")
    anyc = any_rows.groupby(keys, dropna=False).size().rename(any_name)
    out = out.merge(total.reset_index(), on=keys, how="left")
    out = out.merge(anyc.reset_index(), on=keys, how="left")
    if extra is not None:
        flagged = long[extra.to_numpy()[long["row"].to_numpy()]]
        ext = flagged.groupby([*keys, "cause"], dropna=False).size().rename(extra_name)
        out = out.merge(ext.reset_index(), on=[*keys, "cause"], how="left")
        out[extra_name] = out[extra_name].fillna(0).astype("int64")
    for c in ("households", "total", any_name):
        out[c] = out[c].astype("int64")
    out["share"] = out["households"] / out["total"]
    out[f"share_of_{any_name.removesuffix('_households')}"] = (
        out["households"] / out[any_name]
    )

    # names, order
    names = tax.causes.loc[out["cause"], ["name_zh", "name_en"]].reset_index(drop=True)
    out = pd.concat([out.reset_index(drop=True), names], axis=1)
    order = {c: i for i, c in enumerate(wanted)}
    out["_order"] = out["cause"].map(order)
    out = out.sort_values(
        [*keys, "households", "_order"],
        ascending=[*([True] * len(keys)), False, True],
        kind="stable",
    )
    share_any = f"share_of_{any_name.removesuffix('_households')}"
    columns = [*cols, "cause", "name_zh", "name_en", "households", any_name, "total"]
    columns += ["share", share_any] + ([extra_name] if extra is not None else [])
    return out[columns].reset_index(drop=True)


def illness_breakdown(
    households: pd.DataFrame,
    by: str | Sequence[str] | None = "township",
    *,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Households poor because of each illness, by township.

    Parameters
    ----------
    households : DataFrame
        Canonical households table: ``causes`` and the ``by`` columns.
    by : str, list of str or None, default="township"
        Column(s) to break down by; ``None`` for the county as a whole.
        Missing values form their own group.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`; its ``ILL`` secondaries (and
        those a county added) are the illnesses.

    Returns
    -------
    DataFrame
        Tidy, one row per (group, illness) with at least one household,
        RangeIndex, sorted by group, then by households (most first), then
        in taxonomy order. Columns: the ``by`` columns, ``cause`` (code),
        ``name_zh``, ``name_en``, ``households`` (int, listing it),
        ``ill_households`` (int, listing any illness in the group),
        ``total`` (int, households in the group), ``share``
        (``households / total``) and ``share_of_ill``
        (``households / ill_households``).

    Raises
    ------
    ValidationError
        If ``causes`` or a ``by`` column is missing.

    Notes
    -----
    The shares of a group add up to more than ``ill_households / total``
    when households list several illnesses.

    Examples
    --------
    >>> import pandas as pd
    >>> hh = pd.DataFrame({"township": ["A", "A", "B"],
    ...                    "causes": ["ILL.UREMIA;LAB.NO_ADULT", "EDU", "ILL"]})
    >>> illness_breakdown(hh)[["township", "cause", "households", "total"]]
      township       cause  households  total
    0        A  ILL.UREMIA           1      2
    1        B         ILL           1      1
    """
    cols = _by(households, by)
    tax = taxonomy or load_taxonomy()
    wanted = ["ILL", *tax.children("ILL")]
    out = _breakdown(households, cols, wanted, "ill_households", tax)
    logger.debug("illness_breakdown: %d rows by %s", len(out), cols)
    return out


def training_needs(
    households: pd.DataFrame,
    by: str | Sequence[str] | None = "township",
    *,
    skills: Sequence[str] = SKILL_CAUSES,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Households that lack each skill, by township.

    Parameters
    ----------
    households : DataFrame
        Canonical households table: ``causes``, the ``by`` columns and,
        when present, ``need_kind``.
    by : str, list of str or None, default="township"
        Column(s) to break down by; ``None`` for the county as a whole.
    skills : sequence of str, default=SKILL_CAUSES
        The cause codes that count as a lack of skill.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.

    Returns
    -------
    DataFrame
        Tidy, one row per (group, skill) with at least one household,
        RangeIndex, sorted by group, then by households (most first), then
        in the order of ``skills``. Columns: the ``by`` columns, ``cause``,
        ``name_zh``, ``name_en``, ``households`` (int),
        ``skill_households`` (int, lacking any of ``skills`` in the group),
        ``total`` (int), ``share`` (``households / total``),
        ``share_of_skill`` (``households / skill_households``) and
        ``asks_training`` (int, of ``households`` those whose need kind is
        ``skills_training``; 0 without a ``need_kind`` column).

    Raises
    ------
    ValidationError
        If ``causes`` or a ``by`` column is missing.
    ConfigError
        If a skill is not a cause code of the taxonomy.
    """
    cols = _by(households, by)
    tax = taxonomy or load_taxonomy()
    unknown = [s for s in skills if s not in tax.causes.index]
    if unknown:
        raise ConfigError(f"skills {unknown} are not cause codes of the taxonomy")
    if "need_kind" in households.columns:
        asks = households["need_kind"].astype("object").eq("skills_training")
    else:
        asks = pd.Series(False, index=households.index)
    out = _breakdown(
        households,
        cols,
        list(skills),
        "skill_households",
        tax,
        extra=asks.fillna(False).astype(bool).reset_index(drop=True),
        extra_name="asks_training",
    )
    logger.debug("training_needs: %d rows by %s", len(out), cols)
    return out


def plot_breakdown(
    table: pd.DataFrame,
    *,
    by: str = "township",
    value: Literal["share", "households"] = "share",
    top: int | None = 10,
    lang: Literal["zh", "en"] = "zh",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Heat map of a breakdown: groups down, causes across.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`illness_breakdown` or :func:`training_needs` with
        ``by``.
    by : str, default="township"
        The group column of ``table``.
    value : {"share", "households"}, default="share"
        What the colour shows.
    top : int or None, default=10
        Keep the ``top`` causes with most households over all groups.
    lang : {"zh", "en"}, default="zh"
        Language of the cause names.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``cmap``, ...).

    Returns
    -------
    Axes
        One image in ``ax.images[0]`` whose array has one row per group (in
        sorted order) and one column per cause (most households first, ties
        in the order of ``table``); a cause a group does not list is 0.
    """
    if lang not in ("zh", "en"):
        raise ConfigError(f"lang must be 'zh' or 'en'; got {lang!r}")
    if value not in ("share", "households"):
        raise ConfigError(f"value must be 'share' or 'households'; got {value!r}")
    if by not in table.columns:
        raise ConfigError(f"table has no column {by!r}: pass by= the group column")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    from .plot import plain_texts, use_cjk_font

    fonts = [use_cjk_font(), "sans-serif"]
    order = table.groupby("cause", sort=False)["households"].sum()
    order = order.sort_values(ascending=False, kind="stable")
    causes = order.index[:top] if top else order.index
    grid = table[table["cause"].isin(causes)].pivot_table(
        index=by, columns="cause", values=value, aggfunc="sum", fill_value=0
    )
    grid = grid.reindex(columns=causes, fill_value=0).sort_index()
    names = table.drop_duplicates("cause").set_index("cause")[f"name_{lang}"]
    kwargs.setdefault("cmap", "Reds")
    kwargs.setdefault("aspect", "auto")
    image = ax.imshow(grid.to_numpy(dtype=float), **kwargs)
    ax.set_xticks(np.arange(len(causes)), labels=plain_texts(names[c] for c in causes))
    ax.set_yticks(np.arange(len(grid)), labels=plain_texts(grid.index))
    ax.tick_params(axis="x", labelrotation=60, labelfontfamily=fonts)
    ax.tick_params(axis="y", labelfontfamily=fonts)
    bar = ax.figure.colorbar(image, ax=ax)
    word = {
        "share": ("户数占比", "share of households"),
        "households": ("户数", "households"),
    }
    bar.set_label(word[value][0 if lang == "zh" else 1], fontfamily=fonts)
    return ax
