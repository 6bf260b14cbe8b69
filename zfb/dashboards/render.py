"""HTML pieces of the dashboards: headline figures, bar charts and tables.

Every function returns an HTML string for an ``ipywidgets.HTML`` widget.
Every piece of text that reaches the page goes through :func:`esc`
(:func:`html.escape` with quotes), so a record whose township, note or title
holds markup is shown as text. Numbers are formatted here, never computed:
the callers pass tables of :mod:`zfb.analysis` and friends.

The charts are CSS bars rather than images: they draw in a millisecond on a
county of 46,000 households, scale to a phone screen, and their labels are
text a browser test (or a screen reader) can read.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

__all__ = [
    "bar_chart",
    "cards",
    "esc",
    "fmt_int",
    "fmt_money",
    "fmt_pct",
    "lines",
    "mask_name",
    "message",
    "table",
]

#: Colours of the bars, by role.
BAR_COLOURS = {"primary": "#c0392b", "matched": "#1f618d", "muted": "#aab7b8"}

_STYLE = (
    "<style>"
    ".zfb-cards{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 10px}"
    ".zfb-card{border:1px solid #d5d8dc;border-radius:6px;padding:6px 10px;"
    "min-width:120px;flex:1 1 120px}"
    ".zfb-card .v{font-size:1.35em;font-weight:600}"
    ".zfb-card .k{color:#566573;font-size:.85em}"
    ".zfb-bars{width:100%;border-collapse:collapse;font-size:.9em}"
    ".zfb-bars td{padding:2px 4px;vertical-align:middle}"
    ".zfb-bars td.l{width:38%;overflow-wrap:anywhere}"
    ".zfb-bars td.n{width:16%;text-align:right;white-space:nowrap}"
    ".zfb-bar{height:12px;border-radius:2px}"
    ".zfb-table{border-collapse:collapse;font-size:.88em;width:100%}"
    ".zfb-table th,.zfb-table td{border-bottom:1px solid #eaeded;padding:3px 6px;"
    "text-align:left;vertical-align:top;overflow-wrap:anywhere}"
    ".zfb-table td.num{text-align:right;white-space:nowrap}"
    ".zfb-msg{padding:6px 10px;border-radius:4px;margin:4px 0}"
    ".zfb-msg.info{background:#eaf2f8}.zfb-msg.ok{background:#e9f7ef}"
    ".zfb-msg.error{background:#fdedec;color:#922b21}"
    "</style>"
)


def esc(value: object) -> str:
    """Text as HTML: ``&``, ``<``, ``>`` and both quotes escaped.

    ``None`` and missing values (NaN, ``pd.NA``) give an empty string.
    """
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value), quote=True)


def fmt_int(value: object) -> str:
    """``12,345``; an empty string for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{int(value):,}"


def fmt_money(value: object) -> str:
    """``12,345 CNY`` rounded to the yuan; an empty string when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):,.0f} CNY"


def fmt_pct(value: object, decimals: int = 1) -> str:
    """A share of 0 to 1 as per cent, ``42.0%``; empty when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{100.0 * float(value):.{decimals}f}%"


def mask_name(value: object) -> str:
    """A person's name masked for display: its first character and stars.

    ``"张三丰"`` becomes ``"张**"``; a one-character name becomes ``"*"``;
    an empty or missing value stays empty. The result is plain text, to be
    passed through :func:`esc` like any other.
    """
    text = "" if value is None else str(value).strip()
    try:
        if pd.isna(value):
            text = ""
    except (TypeError, ValueError):
        pass
    if not text:
        return ""
    if len(text) == 1:
        return "*"
    return text[0] + "*" * (len(text) - 1)


def cards(items: Iterable[tuple[str, str]]) -> str:
    """A row of headline figures.

    Parameters
    ----------
    items : iterable of (label, value)
        Both already formatted as text; both are escaped.
    """
    body = "".join(
        f'<div class="zfb-card"><div class="v">{esc(v)}</div>'
        f'<div class="k">{esc(k)}</div></div>'
        for k, v in items
    )
    return f'{_STYLE}<div class="zfb-cards">{body}</div>'


def bar_chart(
    labels: Sequence[object],
    values: Sequence[float],
    texts: Sequence[str] | None = None,
    *,
    title: str = "",
    vmax: float | None = None,
    colour: str = BAR_COLOURS["primary"],
    empty: str = "no households",
) -> str:
    """Horizontal bars, one row per label, as an HTML table.

    Parameters
    ----------
    labels : sequence
        Row labels (escaped).
    values : sequence of float
        Bar lengths, 0 or more; drawn relative to ``vmax``.
    texts : sequence of str, optional
        What is written after each bar (default the value); escaped.
    title : str
        Caption above the chart (escaped).
    vmax : float, optional
        Value of a full-width bar; default the largest value.
    colour : str
        CSS colour of the bars.
    empty : str
        Written instead of the chart when there are no rows.
    """
    vals = [float(v) for v in values]
    if texts is None:
        texts = [f"{v:g}" for v in vals]
    top = vmax if vmax is not None else (max(vals) if vals else 0.0)
    head = f"<h4>{esc(title)}</h4>" if title else ""
    if not vals:
        return f"{_STYLE}{head}{message(empty, 'info')}"
    rows = []
    for label, v, t in zip(labels, vals, texts, strict=True):
        width = 0.0 if top <= 0 else max(0.0, min(100.0, 100.0 * v / top))
        rows.append(
            f'<tr><td class="l">{esc(label)}</td>'
            f'<td><div class="zfb-bar" style="width:{width:.1f}%;'
            f'background:{esc(colour)}"></div></td>'
            f'<td class="n">{esc(t)}</td></tr>'
        )
    return f'{_STYLE}{head}<table class="zfb-bars">{"".join(rows)}</table>'


def table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    formats: Mapping[str, object] | None = None,
    numeric: Iterable[str] = (),
    empty: str = "nothing to show",
    max_rows: int | None = None,
) -> str:
    """An HTML table of ``df``, every cell escaped.

    Parameters
    ----------
    df : DataFrame
    columns : mapping of column to header, optional
        The columns to show, in order, with their headers; default all
        columns under their own names.
    formats : mapping of column to callable, optional
        Turns a cell into text (for example :func:`fmt_money`).
    numeric : iterable of str
        Columns aligned to the right.
    empty : str
        Written instead of the table when ``df`` has no rows.
    max_rows : int, optional
        Show only the first ``max_rows`` rows and say how many are left out.
    """
    cols = dict(columns) if columns is not None else {c: str(c) for c in df.columns}
    fmts = dict(formats or {})
    right = set(numeric)
    if len(df) == 0:
        return f"{_STYLE}{message(empty, 'info')}"
    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{esc(h)}</th>" for h in cols.values())
    body = []
    for record in shown[list(cols)].itertuples(index=False, name=None):
        cells = []
        for col, value in zip(cols, record, strict=True):
            text = fmts[col](value) if col in fmts else value
            cls = ' class="num"' if col in right else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = ""
    if max_rows is not None and len(df) > max_rows:
        more = message(f"{len(df) - max_rows:,} more rows not shown", "info")
    return (
        f'{_STYLE}<table class="zfb-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )


def message(text: str, kind: str = "info") -> str:
    """One line of text in a coloured box; ``kind`` is info, ok or error."""
    if kind not in ("info", "ok", "error"):
        raise ValueError(f"kind must be 'info', 'ok' or 'error'; got {kind!r}")
    return f'<div class="zfb-msg {kind}">{esc(text)}</div>'


def lines(items: Iterable[str], kind: str = "error") -> str:
    """Several :func:`message` boxes, one per item."""
    return "".join(message(t, kind) for t in items)
