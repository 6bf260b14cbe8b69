"""Charts of the county analyses, with Chinese labels that render.

The chart functions take the tables of :mod:`zfb.analysis` and draw on a
matplotlib ``Axes`` (the current one when ``ax`` is None), seaborn-style, and
return it. Labels are in Chinese, in English, or both (Chinese first).

Chinese glyphs need a font that has them; matplotlib's default (DejaVu Sans)
has none and would draw empty boxes. :func:`use_cjk_font` finds one (Noto Sans
SC from the ``pylopdf-fonts-zh-cn`` package, else a CJK font of the system)
and registers it with matplotlib. Importing this module changes no global
setting: each chart function sets the font on the texts it creates,
including tick labels drawn later.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import PercentFormatter

from .errors import ConfigError

__all__ = [
    "plot_cause_shares",
    "plot_cause_shares_by_township",
    "plot_matches_by_township",
    "plain_text",
    "plain_texts",
    "use_cjk_font",
]

logger = logging.getLogger(__name__)

Lang = Literal["zh", "en", "both"]

#: Characters a font must have to be used for Chinese labels.
_PROBE = "镇雄县乡街道致贫原因户数占比疾病残"

#: Name fragments of system fonts known to cover simplified Chinese.
_SYSTEM_HINTS = (
    "notosanscjk",
    "notoserifcjk",
    "notosanssc",
    "sourcehansans",
    "sourcehanserif",
    "wqy",
    "wenquanyi",
    "droidsansfallback",
    "simhei",
    "msyh",
    "pingfang",
)

_TEXT = {
    "share": ("户数占比", "share of households"),
    "households": ("户数", "households"),
    "registered": ("登记户数", "households"),
    "matched": ("已对接", "matched"),
    "township": ("乡镇", "township"),
    "cause": ("致贫原因", "cause of poverty"),
}


# fonts
def _has_glyphs(path: str | Path, text: str = _PROBE) -> bool:
    """Whether the font file has a glyph for every character of ``text``."""
    try:
        font = FT2Font(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def _candidate_paths() -> Iterator[Path]:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        logger.debug("pylopdf_fonts_zh_cn is not installed; trying system fonts")
    else:
        yield Path(pylopdf_fonts_zh_cn.sans_path())
    system = font_manager.findSystemFonts(fontext="ttf")
    system += font_manager.findSystemFonts(fontext="otf")
    for path in sorted(set(system)):
        key = Path(path).name.lower().replace(" ", "").replace("-", "")
        if any(hint in key for hint in _SYSTEM_HINTS):
            yield Path(path)


@functools.cache
def cjk_font_path() -> Path:
    """Path of the font file :func:`use_cjk_font` uses.

    Raises
    ------
    ConfigError
        If no font with Chinese glyphs is found.
    """
    for path in _candidate_paths():
        if path.is_file() and _has_glyphs(path):
            return path
    raise ConfigError(
        "no font with Chinese glyphs was found: install the Python package "
        "pylopdf-fonts-zh-cn (pip install pylopdf-fonts-zh-cn) or a system CJK "
        "font such as Noto Sans CJK SC or WenQuanYi"
    )


@functools.cache
def use_cjk_font() -> str:
    """Find a font with Chinese glyphs, register it with matplotlib.

    Looks first for Noto Sans SC shipped by the ``pylopdf-fonts-zh-cn``
    package (a dependency of zfb), then for a CJK font of the system (Noto
    Sans CJK, Source Han, WenQuanYi, ...). The font is added to matplotlib's
    font manager; no rcParams are changed. The result is cached.

    Returns
    -------
    str
        The family name to use, for example ``"Noto Sans SC"``.

    Raises
    ------
    ConfigError
        If no font with Chinese glyphs is found.

    Notes
    -----
    Among system fonts only those whose file name marks a CJK font are
    tried; each candidate must have a glyph for every character of a probe
    string of common Chinese characters before it is chosen.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> family = use_cjk_font()
    >>> ax = Figure().add_subplot()
    >>> _ = ax.set_title("致贫原因", fontfamily=[family, "sans-serif"])
    """
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    logger.debug("using font %r for Chinese labels", family)
    return family


def _families() -> list[str]:
    return [use_cjk_font(), "sans-serif"]


@contextlib.contextmanager
def _cjk_rc(ax: Axes) -> Iterator[list[str]]:
    """Draw on ``ax`` in the CJK font; rcParams are restored on exit.

    Texts created inside the block take the font from the rc context; the
    texts ``ax`` already has (tick labels made with the axes) and the tick
    labels drawn later get it from :func:`_set_font`, at entry and at exit.
    """
    families = _families()
    with mpl.rc_context({"font.family": families}):
        _set_font(ax, families)
        yield families
        _set_font(ax, families)


def _set_font(ax: Axes, families: Sequence[str]) -> None:
    """Put the CJK font on every text of ``ax``, tick labels drawn later too."""
    ax.tick_params(labelfontfamily=list(families))
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        texts += legend.get_texts()
        if legend.get_title() is not None:
            texts.append(legend.get_title())
    for text in texts:
        text.set_fontfamily(list(families))


# labels
def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en", "both"):
        raise ValueError(f"lang must be 'zh', 'en' or 'both'; got {lang!r}")


def _say(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return {"zh": zh, "en": en, "both": f"{zh} {en}"}[lang]


def plain_text(value: object) -> str:
    """A label from the data as matplotlib draws it verbatim.

    Matplotlib reads the text between two ``$`` as a formula (mathtext): a
    township named ``$x^2$`` would be drawn as a formula, and one that is not
    valid mathtext stops the drawing with an error. Each ``$`` is escaped as
    ``\\$``, which matplotlib draws as a plain dollar sign.

    Examples
    --------
    >>> plain_text("$x^2$乡")
    '\\\\$x^2\\\\$乡'
    """
    return str(value).replace("$", r"\$")


def plain_texts(values: Iterable[object]) -> list[str]:
    """:func:`plain_text` of each value."""
    return [plain_text(v) for v in values]


def _cause_labels(shares: pd.DataFrame, lang: str, sep: str = " ") -> list[str]:
    zh = shares["name_zh"].astype(str)
    en = shares["name_en"].astype(str)
    if lang == "zh":
        return plain_texts(zh)
    if lang == "en":
        return plain_texts(en)
    return plain_texts(zh + sep + en)


def _group_columns(shares: pd.DataFrame) -> list[str]:
    known = {"cause", "name_zh", "name_en", "households", "total", "share", "need"}
    return [c for c in shares.columns if c not in known]


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} needs the columns {', '.join(missing)}; pass the table "
            "returned by the zfb.analysis function named in the docstring"
        )


def _current_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


# charts
def plot_cause_shares(
    shares: pd.DataFrame,
    *,
    lang: Lang = "zh",
    top: int | None = None,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of the share of households under each cause.

    Parameters
    ----------
    shares : DataFrame
        Output of :func:`zfb.analysis.cause_shares` for one group (no ``by``,
        or filtered to one group): columns ``cause``, ``name_zh``,
        ``name_en`` and ``share``.
    lang : {"zh", "en", "both"}, default "zh"
        Language of the labels; ``"both"`` puts English after the Chinese.
    top : int, optional
        Draw only the ``top`` causes with the largest shares.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh` (``color``, ...).

    Returns
    -------
    Axes
        One bar per cause in ``ax.containers[0]``, largest share at the top;
        its width is the share (0 to 1), the tick labels are the cause
        names and each bar is labelled with its share in per cent.

    Raises
    ------
    ValueError
        If ``shares`` holds several groups.
    """
    _check_lang(lang)
    _require(shares, ["cause", "name_zh", "name_en", "share"], "plot_cause_shares")
    groups = _group_columns(shares)
    if groups and len(shares[groups].drop_duplicates()) > 1:
        raise ValueError(
            f"shares holds several groups of {groups}; select one group, or draw "
            "them all with plot_cause_shares_by_township"
        )
    data = shares.sort_values("share", ascending=False, kind="stable")
    if top is not None:
        data = data.head(top)
    ax = _current_axes(ax)
    kwargs.setdefault("color", "#c0392b")
    with _cjk_rc(ax):
        y = np.arange(len(data))
        bars = ax.barh(y, data["share"].to_numpy(dtype=float), **kwargs)
        ax.set_yticks(y, labels=_cause_labels(data, lang))
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.bar_label(bars, labels=[f"{s:.1%}" for s in data["share"]], padding=2)
        ax.set_xlabel(_say("share", lang))
        ax.set_ylabel("")
        ax.margins(x=0.15)
    return ax


def plot_cause_shares_by_township(
    shares: pd.DataFrame,
    *,
    lang: Lang = "zh",
    top: int | None = None,
    annot: bool = True,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of the share of households under each cause, by township.

    Parameters
    ----------
    shares : DataFrame
        Output of :func:`zfb.analysis.cause_shares` with ``by`` one column
        (``"township"`` or any other): that column gives the rows.
    lang : {"zh", "en", "both"}, default "zh"
        Language of the cause labels (``"both"``: Chinese above English).
    top : int, optional
        Keep only the ``top`` causes with the most households overall.
    annot : bool, default True
        Write the share in each cell.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :func:`seaborn.heatmap` (``cmap``, ``linewidths``, ...).

    Returns
    -------
    Axes
        Rows are the groups in the order of ``shares``, columns the causes
        by households descending; a cause that no household of a township
        lists shows 0. The colour bar runs from 0 to the largest share.
    """
    import seaborn as sns

    _check_lang(lang)
    _require(
        shares,
        ["cause", "name_zh", "name_en", "households", "share"],
        "plot_cause_shares_by_township",
    )
    groups = _group_columns(shares)
    if len(groups) != 1:
        raise ValueError(
            "shares must be grouped by exactly one column, as returned by "
            f"cause_shares(..., by='township'); got group columns {groups}"
        )
    by = groups[0]
    order = shares.groupby("cause", sort=False)["households"].sum()
    order = order.sort_values(ascending=False, kind="stable")
    if top is not None:
        order = order.head(top)
    names = shares.drop_duplicates("cause").set_index("cause").loc[order.index]
    table = shares.pivot_table(
        index=by, columns="cause", values="share", sort=False, fill_value=0.0
    )
    rows = shares[by].drop_duplicates().tolist()
    table = table.reindex(index=rows, columns=order.index, fill_value=0.0)
    table.index = plain_texts(table.index)
    table.columns = _cause_labels(names.reset_index(), lang, sep="\n")
    ax = _current_axes(ax)
    kwargs.setdefault("cmap", "YlOrRd")
    kwargs.setdefault("linewidths", 0.5)
    with _cjk_rc(ax) as families:
        sns.heatmap(
            table,
            ax=ax,
            annot=annot,
            fmt=".0%",
            vmin=0.0,
            xticklabels=True,  # every label, without seaborn's overlap test
            yticklabels=True,
            cbar_kws={"format": PercentFormatter(1.0, decimals=0)},
            **kwargs,
        )
        ax.set_xlabel(_say("cause", lang))
        ax.set_ylabel(_say("township", lang) if by == "township" else str(by))
        ax.tick_params(axis="x", labelrotation=90)
        ax.tick_params(axis="y", labelrotation=0)
        _set_font(ax, families)
        colorbar = ax.collections[0].colorbar if ax.collections else None
        if colorbar is not None:
            _set_font(colorbar.ax, families)
    return ax


def plot_matches_by_township(
    table: pd.DataFrame,
    *,
    lang: Lang = "zh",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of households and matched households by township.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`zfb.analysis.matches_by_township`: columns
        ``township``, ``households``, ``matched`` and ``share_matched``.
    lang : {"zh", "en", "both"}, default "zh"
        Language of the axis label and legend.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to both :meth:`matplotlib.axes.Axes.barh` calls.

    Returns
    -------
    Axes
        ``ax.containers[0]`` holds one bar per township, as long as its
        households; ``ax.containers[1]`` the matched households drawn over
        it, labelled with the share matched. Townships run top to bottom in
        the order of ``table``.
    """
    _check_lang(lang)
    _require(
        table,
        ["township", "households", "matched", "share_matched"],
        "plot_matches_by_township",
    )
    ax = _current_axes(ax)
    with _cjk_rc(ax):
        y = np.arange(len(table))
        ax.barh(
            y,
            table["households"].to_numpy(dtype=float),
            color="#d5d8dc",
            label=_say("registered", lang),
            **kwargs,
        )
        matched = ax.barh(
            y,
            table["matched"].to_numpy(dtype=float),
            color="#1f618d",
            label=_say("matched", lang),
            **kwargs,
        )
        ax.bar_label(
            matched,
            labels=[f"{s:.0%}" for s in table["share_matched"]],
            padding=2,
            fontsize="small",
        )
        ax.set_yticks(y, labels=plain_texts(table["township"]))
        ax.invert_yaxis()
        ax.set_xlabel(_say("households", lang))
        ax.set_ylabel("")
        ax.legend(loc="lower right")
    return ax
