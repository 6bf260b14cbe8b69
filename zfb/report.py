"""A county report as one self-contained HTML file.

:func:`write_report` writes, and :func:`render_report` returns, a single HTML
page that a county office can open offline: the CSS is inline, the charts are
PNG images embedded as base64 ``data:`` URIs, and nothing refers to another
file or to the network. Headings are bilingual, Chinese first with English
beside. Every number comes from :mod:`zfb.analysis`; the page computes nothing
of its own.

The report is aggregate-first: sample size, headline numbers, cause shares
(by primary cause, secondary cause, registry option and township), match
results and unmatched needs by cause and township. No personal data is
printed; pseudonymous ``household_id`` values appear only in the optional
list of unmatched households (``list_unmatched``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import logging
import warnings
from collections.abc import Callable, Sequence
from html import escape
from os import PathLike
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import analysis as an
from . import plot
from .errors import ZfbError, ZfbWarning
from .io import replacing
from .taxonomy import Taxonomy, load_taxonomy

__all__ = ["render_report", "write_report"]

logger = logging.getLogger(__name__)

_DEFAULT_TITLE = ("致贫原因与帮扶对接报告", "Causes of poverty and matching report")
_SECONDARY_CHART_TOP = 20

_CSS = """
body { font-family: "zfb CJK", "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC",
  "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
  margin: 2em auto; max-width: 68em; padding: 0 1em; color: #1b2631;
  line-height: 1.5; }
h1 { border-bottom: 3px solid #c0392b; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #aab7b8; }
.en { color: #5d6d7e; font-weight: normal; font-size: .85em; margin-left: .4em; }
th .en { display: block; margin-left: 0; font-size: .8em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #d5d8dc; padding: .25em .6em; }
thead th { background: #f2f3f4; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.headline th { text-align: left; font-weight: normal; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; }
p.note, p.meta { color: #5d6d7e; font-size: .9em; }
.wide { overflow-x: auto; }
@media print { h2 { page-break-before: auto; } figure { page-break-inside: avoid; } }
"""

#: Labels of the headline numbers of :func:`zfb.analysis.summary`.
_HEADLINE = {
    "households": ("户数", "households", "int"),
    "people": ("人数", "people", "int"),
    "townships": ("乡镇数", "townships", "int"),
    "villages": ("村数", "villages", "int"),
    "median_income_per_capita": (
        "人均年收入中位数(元)",
        "median income per person (CNY a year)",
        "money",
    ),
    "households_with_need": (
        "有需求金额的户数",
        "households with a need amount",
        "int",
    ),
    "total_need": ("需求总额(元)", "total need (CNY)", "money"),
    "projects": ("项目数", "projects", "int"),
    "funders": ("帮扶方数", "funders", "int"),
    "total_budget": ("项目预算总额(元)", "total budget (CNY)", "money"),
    "total_capacity": ("项目可帮扶户数", "project capacity (households)", "int"),
    "matches": ("对接记录数", "match rows", "int"),
    "matched_households": ("已对接户数", "matched households", "int"),
    "unmatched_households": ("未对接户数", "unmatched households", "int"),
    "share_matched": ("对接率", "share of households matched", "pct"),
    "amount_matched": ("对接金额(元)", "amount matched (CNY)", "money"),
    "unmet_need": ("未满足需求(元)", "unmet need (CNY)", "money"),
    "budget_used": ("预算使用率", "share of budget used", "pct"),
}

#: A column of a report table: (column, Chinese label, English label, format),
#: the format one of ``int``, ``money``, ``pct`` or ``text``.
_Column = tuple[str, str, str, str]

#: Labels of the columns that several tables show: column -> (zh, en, format).
_LABELS: dict[str, tuple[str, str, str]] = {
    "township": ("乡镇", "township", "text"),
    "name_en": ("英文名", "name in English", "text"),
    "households": ("户数", "households", "int"),
    "share": ("占比", "share", "pct"),
    "amount": ("对接金额(元)", "amount (CNY)", "money"),
    "need": ("需求金额(元)", "need (CNY)", "money"),
    "unmet_need": ("未满足需求(元)", "unmet need (CNY)", "money"),
}


def _columns(*specs: str | _Column) -> tuple[_Column, ...]:
    """Columns of a table; a bare column name takes its labels from _LABELS."""
    return tuple(s if isinstance(s, tuple) else (s, *_LABELS[s]) for s in specs)


def _cause_columns(zh: str, en: str, *more: str | _Column) -> tuple[_Column, ...]:
    """Columns of a table of causes: the cause, labelled ``zh`` and ``en``,
    its English name, its households and share, then ``more``."""
    return _columns(
        ("name_zh", zh, en, "text"), "name_en", "households", "share", *more
    )


#: Columns of the tables of causes listed by any household and as main cause.
_ANY_MAIN = _columns(
    ("name_zh", "原因", "cause", "text"),
    "name_en",
    ("households", "列有该原因的户数", "households listing it", "int"),
    "share",
    ("main_households", "主因户数", "households, main cause", "int"),
    ("main_share", "主因占比", "share, main cause", "pct"),
)

#: Columns of the matches-project table shown only when projects are given.
_SUPPLY_COLUMNS = (
    "title",
    "funder",
    "capacity",
    "capacity_used",
    "budget",
    "budget_used",
)

#: Every table of the report by its HTML id: the column whose value each row
#: carries as ``data-key`` (None for none), and the columns shown, in order.
_TABLES: dict[str, tuple[str | None, tuple[_Column, ...]]] = {
    "representativeness": (
        "township",
        _columns(
            "township",
            ("registered", "登记户数", "registered", "int"),
            ("sampled", "样本户数", "sampled", "int"),
            ("coverage", "覆盖率", "coverage", "pct"),
        ),
    ),
    "shares-primary": ("cause", _ANY_MAIN),
    "shares-secondary": (
        "cause",
        (("cause", "代码", "code", "text"), *_cause_columns("原因", "cause")),
    ),
    "shares-registry": ("cause", _ANY_MAIN),
    # then one column per primary cause
    "shares-township": (
        "township",
        _columns("township", ("total", "户数", "households", "int")),
    ),
    "illness": (
        "cause",
        _cause_columns(
            "疾病",
            "illness",
            ("share_of_ill", "占因病户", "of ill households", "pct"),
        ),
    ),
    "training": (
        "cause",
        _cause_columns(
            "缺少的技能",
            "skill lacking",
            ("asks_training", "申请培训", "asks for training", "int"),
        ),
    ),
    "mpi": (
        "measure",
        _columns(
            ("measure", "指标", "measure", "text"),
            ("zh", "含义", "meaning", "text"),
            ("value", "数值", "value", "pct"),
        ),
    ),
    "mpi-indicators": (
        "indicator",
        _columns(
            ("indicator", "维度指标", "indicator", "text"),
            ("weight", "权重", "weight", "pct"),
            ("censored_headcount", "删失发生率", "censored headcount", "pct"),
            ("contribution", "贡献率", "contribution to M0", "pct"),
        ),
    ),
    "profiles": (
        "cluster",
        _columns(
            ("description_zh", "画像", "profile", "text"),
            ("description_en", "英文", "in English", "text"),
            "households",
            "share",
        ),
    ),
    "matches-township": (
        "township",
        _columns(
            "township",
            "households",
            ("matched", "已对接", "matched", "int"),
            ("share_matched", "对接率", "share matched", "pct"),
            "amount",
            "need",
            "unmet_need",
        ),
    ),
    "matches-project": (
        "project_id",
        _columns(
            ("project_id", "项目编号", "project", "text"),
            ("title", "项目名称", "title", "text"),
            ("funder", "帮扶方", "funder", "text"),
            ("households", "已对接户数", "matched households", "int"),
            "amount",
            ("capacity", "可帮扶户数", "capacity", "int"),
            ("capacity_used", "名额使用率", "capacity used", "pct"),
            ("budget", "预算(元)", "budget (CNY)", "money"),
            ("budget_used", "预算使用率", "budget used", "pct"),
        ),
    ),
    "unmatched-cause": ("cause", _cause_columns("原因", "cause", "need")),
    "unmatched-township": (
        "township",
        _columns(
            "township",
            ("unmatched", "未对接户数", "unmatched households", "int"),
            "households",
            "unmet_need",
        ),
    ),
    "unmatched-list": (
        None,
        _columns(
            ("household_id", "户编号(假名)", "household (pseudonym)", "text"),
            "township",
            ("main_cause", "主因", "main cause", "text"),
            ("need_kind", "需求类型", "need kind", "text"),
            ("need_amount", *_LABELS["need"]),
        ),
    ),
}


# formatting
def _fmt_int(value: object) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def _fmt_money(value: object) -> str:
    return "–" if pd.isna(value) else f"{float(value):,.0f}"


def _fmt_pct(value: object) -> str:
    return "–" if pd.isna(value) else f"{float(value):.1%}"


def _fmt_text(value: object) -> str:
    return "" if pd.isna(value) else escape(str(value))


_FORMATS: dict[str, Callable[[object], str]] = {
    "int": _fmt_int,
    "money": _fmt_money,
    "pct": _fmt_pct,
    "text": _fmt_text,
}


def _bi(zh: str, en: str) -> str:
    """A bilingual label: Chinese, then English in a lighter span."""
    return f'{escape(zh)}<span class="en">{escape(en)}</span>'


# html pieces
def _table(
    table: pd.DataFrame,
    table_id: str,
    *,
    extra: Sequence[_Column] = (),
    without: Sequence[str] = (),
) -> str:
    """The HTML table ``table_id`` of :data:`_TABLES`, rows from ``table``.

    Its columns are those of :data:`_TABLES`, less those named in
    ``without``, then ``extra``. Each row carries ``data-key`` (the escaped
    value of the table's key column) and each cell ``data-col`` (the column).
    """
    key, columns = _TABLES[table_id]
    columns = [c for c in columns if c[0] not in without] + list(extra)
    head = "".join(f"<th>{_bi(zh, en)}</th>" for _, zh, en, _ in columns)
    body = []
    for record in table.to_dict("records"):
        attr = ""
        if key is not None:
            attr = f' data-key="{escape(str(record[key]), quote=True)}"'
        cells = []
        for col, _, _, kind in columns:
            cls = ' class="num"' if kind != "text" else ""
            text = _FORMATS[kind](record[col])
            cells.append(f'<td data-col="{col}"{cls}>{text}</td>')
        body.append(f"<tr{attr}>{''.join(cells)}</tr>")
    return (
        f'<div class="wide"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _headline(numbers: dict[str, int | float], table_id: str) -> str:
    rows = []
    for key, value in numbers.items():
        if key not in _HEADLINE:
            continue
        zh, en, kind = _HEADLINE[key]
        rows.append(
            f'<tr data-key="{key}"><th>{_bi(zh, en)}</th>'
            f'<td data-col="value" class="num">{_FORMATS[kind](value)}</td></tr>'
        )
    return f'<table id="{table_id}" class="headline">{"".join(rows)}</table>'


def _png(fig: Figure, alt: str) -> str:
    """The figure as an ``<img>`` with a base64 PNG ``data:`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt, quote=True)}" src="data:image/png;base64,{data}">'


def _figure(
    draw: Callable[..., object],
    table: pd.DataFrame,
    size: tuple[float, float],
    caption: tuple[str, str],
    **kwargs: object,
) -> str:
    """A chart of ``table`` drawn by ``draw``, with a bilingual caption."""
    if table.empty:
        return ""
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)  # a real canvas: text extents without re-rendering
    ax = fig.add_subplot()
    draw(table, ax=ax, **kwargs)
    image = _png(fig, " ".join(caption))
    return f"<figure>{image}<figcaption>{_bi(*caption)}</figcaption></figure>"


def _bar_height(n: int) -> tuple[float, float]:
    return (8.0, max(2.0, 0.32 * n + 1.0))


def _shares_any_main(any_: pd.DataFrame, main: pd.DataFrame) -> pd.DataFrame:
    main = main.set_index("cause")
    out = any_.copy()
    out["main_households"] = out["cause"].map(main["households"]).fillna(0)
    out["main_share"] = out["cause"].map(main["share"]).fillna(0.0)
    return out


# sections
def _section(anchor: str, zh: str, en: str, body: Sequence[str]) -> str:
    return (
        f'<section id="{anchor}"><h2>{_bi(zh, en)}</h2>' + "".join(body) + "</section>"
    )


#: Clusters of the profiles section: fixed, so that the report takes seconds
#: (choosing the number by silhouette is left to :class:`zfb.profiles.PovertyProfiles`).
PROFILE_CLUSTERS = 6


def _representativeness(households: pd.DataFrame, registry: pd.Series) -> str:
    from .representativeness import representativeness

    rep = representativeness(registry, households)
    caveats = "".join(f"<li>{escape(c)}</li>" for c in rep.caveats)
    return _section(
        "representativeness",
        "样本代表性",
        "Representativeness of the sample",
        [
            f'<p class="note">{escape(rep.verdict)}</p>',
            f"<ul>{caveats}</ul>" if caveats else "",
            _table(rep.table.reset_index(), "representativeness"),
        ],
    )


def _profiles_section(households: pd.DataFrame, tax: Taxonomy) -> list[str]:
    from .profiles import PovertyProfiles, describe_profiles, profile_features

    if len(households) < 10 * PROFILE_CLUSTERS:
        return []
    try:
        features = profile_features(households, taxonomy=tax)
        model = PovertyProfiles(n_clusters=PROFILE_CLUSTERS, random_state=0)
        labels = model.fit(features).labels_
        profiles = describe_profiles(features, labels, taxonomy=tax)
    except (ZfbError, ValueError) as exc:
        logger.info("profiles section left out: %s", exc)
        return []
    return [
        _section(
            "profiles",
            "贫困画像",
            "Poverty profiles",
            [
                f'<p class="note">{_bi("聚类", "clusters")} k = '
                f"{PROFILE_CLUSTERS} (KMeans)</p>",
                _table(profiles, "profiles"),
            ],
        )
    ]


def _needs_sections(households: pd.DataFrame, tax: Taxonomy) -> list[str]:
    """Illness, training needs and multidimensional poverty (county level)."""
    from .illness import illness_breakdown, training_needs
    from .mpi import deprivations_from_households, mpi

    out = []
    try:
        ill = illness_breakdown(households, by=None, taxonomy=tax)
        skills = training_needs(households, by=None, taxonomy=tax)
        result = mpi(deprivations_from_households(households))
    except (ZfbError, KeyError, ValueError) as exc:
        logger.info("illness, training and MPI sections left out: %s", exc)
        return out
    label = _bi("占全部户数与占因病户数", "of all households, and of those ill")
    note = f'<p class="note">{label}</p>'
    out.append(
        _section(
            "illness",
            "因病致贫",
            "Illness-related poverty",
            [note, _table(ill.head(20), "illness")],
        )
    )
    out.append(
        _section(
            "training",
            "技能培训需求",
            "Training needs",
            [_table(skills, "training")],
        )
    )
    head = pd.DataFrame(
        {
            "measure": ["H", "A", "M0"],
            "zh": ["多维贫困发生率", "平均剥夺强度", "调整后发生率 M0 = H × A"],
            "value": [result.H, result.A, result.M0],
        }
    )
    indicators = result.indicators.reset_index()
    indicators["contribution"] = indicators["contribution"] / 100
    out.append(
        _section(
            "mpi",
            "多维贫困指数",
            "Multidimensional poverty index (Alkire-Foster)",
            [_table(head, "mpi"), _table(indicators, "mpi-indicators")],
        )
    )
    return out


def _overview(numbers: dict[str, int | float]) -> str:
    return _section("overview", "概况", "Overview", [_headline(numbers, "headline")])


def _causes(households: pd.DataFrame, tax: Taxonomy) -> str:
    body = [
        '<p class="note">占比 = 列有该原因的户数 ÷ 全部户数；一户可列多个原因，'
        "合计可超过 100%。主因只计每户所列第一个原因，合计为 100%。"
        '<span class="en">Share = households listing the cause ÷ all '
        "households; a household may list several causes, so shares can add up "
        "to more than 100 %. The main cause counts only the first cause a "
        "household lists; those shares add up to 100 %.</span></p>"
    ]

    # primary categories
    # the causes are split once; every table below is cause_shares on them
    an._require(households, ["causes", "township"], "households")
    long = an._cause_long(households["causes"], tax)
    whole = households[[]].reset_index(drop=True)
    by_town = households[["township"]].reset_index(drop=True)

    def shares(level: str, count: str = "any", groups=whole) -> pd.DataFrame:
        return an._shares(long, groups, level, count, tax)

    prim = shares("primary")
    prim_main = shares("primary", "main")
    body.append(f"<h3>{_bi('主要类别', 'Primary categories')}</h3>")
    body.append(_table(_shares_any_main(prim, prim_main), "shares-primary"))
    body.append(
        _figure(
            plot.plot_cause_shares,
            prim,
            _bar_height(len(prim)),
            ("各类致贫原因的户数占比", "share of households by primary cause"),
            lang="both",
        )
    )

    # secondary causes
    sec = shares("secondary")
    body.append(f"<h3>{_bi('细分原因', 'Secondary causes')}</h3>")
    body.append(
        _figure(
            plot.plot_cause_shares,
            sec,
            _bar_height(min(len(sec), _SECONDARY_CHART_TOP)),
            (
                f"户数最多的 {_SECONDARY_CHART_TOP} 个细分原因",
                f"the {_SECONDARY_CHART_TOP} most frequent secondary causes",
            ),
            lang="both",
            top=_SECONDARY_CHART_TOP,
        )
    )
    body.append(
        '<p class="note">下表列出全部细分原因。'
        '<span class="en">The table lists every secondary cause.</span></p>'
    )
    body.append(_table(sec, "shares-secondary"))

    # registry options
    reg = shares("registry")
    reg_main = shares("registry", "main")
    body.append(f"<h3>{_bi('对应国家系统选项', 'Registry options')}</h3>")
    body.append(
        '<p class="note">按全国扶贫开发信息系统的 13 个致贫原因选项归并。'
        '<span class="en">Grouped into the 13 cause options of the national '
        "registry.</span></p>"
    )
    body.append(_table(_shares_any_main(reg, reg_main), "shares-registry"))

    # by township
    town = shares("primary", groups=by_town)
    body.append(f"<h3>{_bi('各乡镇', 'By township')}</h3>")
    n_towns = town["township"].nunique()
    body.append(
        _figure(
            plot.plot_cause_shares_by_township,
            town,
            (9.0, max(3.0, 0.3 * n_towns + 2.5)),
            ("各乡镇各类致贫原因的户数占比", "share of households by township"),
            lang="both",
        )
    )
    wide = town.pivot_table(
        index="township", columns="cause", values="share", fill_value=0.0, sort=False
    )
    totals = town.drop_duplicates("township").set_index("township")["total"]
    codes = [c for c in tax.primaries if c in wide.columns]
    wide = wide.reindex(columns=codes).reset_index()
    wide.insert(1, "total", wide["township"].map(totals))
    per_cause = [(c, tax.name(c, "zh"), tax.name(c, "en"), "pct") for c in codes]
    body.append(_table(wide, "shares-township", extra=per_cause))
    return _section("causes", "致贫原因", "Causes of poverty", body)


def _matches(
    households: pd.DataFrame,
    matches: pd.DataFrame,
    projects: pd.DataFrame | None,
    numbers: dict[str, int | float],
    town: pd.DataFrame,
) -> str:
    keys = ["matched_households", "unmatched_households", "share_matched"]
    keys += ["amount_matched", "unmet_need", "budget_used"]
    body = [_headline({k: numbers[k] for k in keys if k in numbers}, "match-headline")]

    # by township
    body.append(f"<h3>{_bi('各乡镇', 'By township')}</h3>")
    body.append(
        _figure(
            plot.plot_matches_by_township,
            town,
            _bar_height(len(town)),
            ("各乡镇登记户数与已对接户数", "households and matched households"),
            lang="both",
        )
    )
    body.append(_table(town, "matches-township"))

    # by project
    proj = an.matches_by_project(matches, projects)
    body.append(f"<h3>{_bi('各项目', 'By project')}</h3>")
    supply = () if projects is not None else _SUPPLY_COLUMNS
    body.append(_table(proj, "matches-project", without=supply))
    return _section("matches", "对接结果", "Match results", body)


def _unmatched(
    households: pd.DataFrame,
    matches: pd.DataFrame,
    town: pd.DataFrame,
    tax: Taxonomy,
    list_unmatched: int,
) -> str:
    body = [
        '<p class="note">未对接户：没有任何对接记录的户，按主因（所列第一个原因）'
        '计。<span class="en">Unmatched households: households with no match, '
        "counted under their main (first) cause.</span></p>"
    ]
    causes = an.unmatched_by_cause(households, matches, level="primary", taxonomy=tax)
    body.append(f"<h3>{_bi('按主因', 'By main cause')}</h3>")
    body.append(
        _figure(
            plot.plot_cause_shares,
            causes,
            _bar_height(len(causes)),
            ("未对接户的主因构成", "main causes of unmatched households"),
            lang="both",
            color="#7f8c8d",
        )
    )
    body.append(_table(causes, "unmatched-cause"))

    town = town.sort_values(["unmatched", "township"], ascending=[False, True])
    body.append(f"<h3>{_bi('按乡镇', 'By township')}</h3>")
    body.append(_table(town, "unmatched-township"))

    if list_unmatched > 0:
        left = households[~an.is_matched(households, matches)]
        listed = pd.DataFrame(
            {
                "household_id": left["household_id"].to_numpy(),
                "township": left["township"].to_numpy(),
                "main_cause": an.main_cause(
                    left, level="secondary", taxonomy=tax
                ).to_numpy(),
                "need_kind": (
                    left["need_kind"].to_numpy() if "need_kind" in left else pd.NA
                ),
                "need_amount": left["need_amount"].to_numpy(),
            }
        )
        listed = listed.sort_values(
            ["need_amount", "household_id"], ascending=[False, True]
        ).head(list_unmatched)
        listed["main_cause"] = listed["main_cause"].map(tax.causes["name_zh"])
        heading = _bi("需求金额最大的未对接户", "Unmatched households, largest needs")
        body.append(f"<h3>{heading}</h3>")
        body.append(_table(listed, "unmatched-list"))
    return _section("unmatched", "未对接需求", "Unmatched needs", body)


# public
def render_report(
    households: pd.DataFrame,
    *,
    projects: pd.DataFrame | None = None,
    matches: pd.DataFrame | None = None,
    title: str | None = None,
    taxonomy: Taxonomy | None = None,
    list_unmatched: int = 0,
    registry: pd.Series | None = None,
) -> str:
    """Return the county report as one self-contained HTML document.

    Parameters
    ----------
    households : DataFrame
        Canonical households table.
    projects : DataFrame, optional
        Canonical projects table; adds the supply numbers and, with
        ``matches``, each project's use of capacity and budget.
    matches : DataFrame, optional
        Matches table (``household_id``, ``project_id``, ``amount``, ...);
        adds the sections on match results and unmatched needs.
    title : str, optional
        Title of the page (escaped); default a bilingual generic title.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.
    list_unmatched : int, default 0
        Also list up to this many unmatched households with the largest
        need amounts (pseudonymous ``household_id``, township, main cause,
        need kind and amount). 0 keeps the report aggregate only.
    registry : Series of int, optional
        Registered households per township (indexed by township name); adds
        the representativeness of the sample
        (:func:`zfb.representativeness.representativeness`).

    Returns
    -------
    str
        An HTML5 document in UTF-8 with inline CSS and base64 PNG charts.
        Every text that comes from the data (township names, project titles,
        funder names, the title) is HTML-escaped.

    Notes
    -----
    Beside causes and matches, the report has illness-related poverty,
    training needs, the Alkire-Foster MPI with its indicators' contributions
    (:mod:`zfb.illness`, :mod:`zfb.mpi`) and poverty profiles: KMeans with
    ``PROFILE_CLUSTERS`` clusters and a fixed seed, described in words by
    :func:`zfb.profiles.describe_profiles`.

    Each table row carries ``data-key`` and each cell ``data-col`` so that
    the numbers can be read back by a program. Rows of ``matches`` naming
    a household or a project the tables do not hold are left out, with one
    :class:`~zfb.errors.ZfbWarning` for the households and one for the
    projects.
    """
    from . import __version__

    tax = taxonomy or load_taxonomy()
    if list_unmatched < 0:
        raise ValueError(f"list_unmatched must be 0 or more; got {list_unmatched}")
    numbers = an.summary(households, projects, matches)
    heading = escape(title) if title is not None else _bi(*_DEFAULT_TITLE)
    page_title = (
        escape(title) if title is not None else escape(" ".join(_DEFAULT_TITLE))
    )
    today = _dt.date.today().isoformat()
    sections = [_overview(numbers)]
    if registry is not None:
        sections.append(_representativeness(households, registry))
    sections.append(_causes(households, tax))
    sections += _needs_sections(households, tax)
    sections += _profiles_section(households, tax)
    if matches is not None:
        with warnings.catch_warnings():
            # summary has already warned about unknown households
            warnings.filterwarnings("ignore", "[0-9]+ row.*household_id", ZfbWarning)
            town = an.matches_by_township(households, matches)
            sections.append(_matches(households, matches, projects, numbers, town))
            sections.append(_unmatched(households, matches, town, tax, list_unmatched))
    meta = (
        f'<p class="meta">{_bi("生成日期", "generated")} {today} · zfb '
        f"{escape(__version__)} · {_bi('致贫原因分类', 'cause taxonomy')} "
        f"{escape(tax.version)} · {_bi('样本户数', 'sample size')} "
        f"{_fmt_int(numbers['households'])}</p>"
    )
    logger.debug("report rendered for %d households", numbers["households"])
    body = f"<header><h1>{heading}</h1>{meta}</header>\n" + "\n".join(sections)
    style = _font_face(page_title + body) + _CSS
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{page_title}</title>\n<style>{style}</style>\n</head>\n<body>\n"
        + body
        + "\n</body>\n</html>\n"
    )


def _font_face(text: str) -> str:
    """An ``@font-face`` rule embedding the CJK glyphs that ``text`` uses.

    The report must read the same on a machine without Chinese fonts, so the
    characters it shows are cut from the CJK font of the charts (Noto Sans SC
    by default) and embedded as a data URI: typically 100-300 kB for a county
    report, where the whole font is 8 MB.
    """
    from fontTools import subset

    chars = {ord(c) for c in text if ord(c) > 0x2E7F}
    if not chars:
        return ""
    try:
        path = plot.cjk_font_path()
    except ZfbError:
        logger.warning("no CJK font found: the report relies on the reader's fonts")
        return ""
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        '@font-face { font-family: "zfb CJK"; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}\n'
    )


def write_report(
    households: pd.DataFrame,
    path: str | PathLike[str],
    *,
    projects: pd.DataFrame | None = None,
    matches: pd.DataFrame | None = None,
    title: str | None = None,
    taxonomy: Taxonomy | None = None,
    list_unmatched: int = 0,
    registry: pd.Series | None = None,
) -> Path:
    """Write the county report to ``path`` as one self-contained HTML file.

    Parameters are those of :func:`render_report`; ``path`` is the file to
    write (UTF-8), replaced when it exists. Its folder must exist.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> write_report(households, "report.html", matches=matches)  # doctest: +SKIP
    PosixPath('report.html')
    """
    html = render_report(
        households,
        projects=projects,
        matches=matches,
        title=title,
        taxonomy=taxonomy,
        list_unmatched=list_unmatched,
        registry=registry,
    )
    out = Path(path)
    with replacing(out) as tmp:  # readers never see half a report
        tmp.write_text(html, encoding="utf-8")
    logger.info("report written to %s", out)
    return out
