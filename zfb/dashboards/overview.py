"""The county overview dashboard: who is poor where, and why.

For county and city policy staff. Two filters (township; primary cause
listed) drive one update path that redraws the headline figures, the cause
shares, the illness and training-needs breakdowns and the beneficiaries by
township. Every number comes from a :class:`~zfb.dashboards.cube.CountyCube`
(the figures of :mod:`zfb.analysis`, added up by cell), so a filter change
takes milliseconds on a county of 46,000 households.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..errors import ValidationError
from ..representativeness import representativeness
from .app import AppBase
from .cube import CountyCube
from .data import CountyData
from .render import bar_chart, cards, esc, fmt_int, fmt_money, fmt_pct, message

__all__ = ["ALL", "OverviewApp"]

#: Value of a filter that keeps everything (``*``, as in a project's townships).
ALL = "*"

_MATCHED = "#1f618d"
_ILL = "#884ea0"
_SKILLS = "#d68910"


class OverviewApp(AppBase):
    """The county overview: filters, headline figures and charts.

    Parameters
    ----------
    county : CountyData
        What :func:`zfb.dashboards.load_county` returns.
    top : int, default 12
        Rows of the illness and training-needs breakdowns.

    Attributes
    ----------
    township, cause : ipywidgets.Dropdown
        The filters: a township name or a primary cause code, or
        :data:`ALL` for all townships or all causes.
    headline, shares, illness, skills, townships, notes : ipywidgets.HTML
        The parts redrawn by :meth:`update`.
    widget : ipywidgets.VBox
        The whole dashboard, to display.
    cube : CountyCube

    Examples
    --------
    >>> app = OverviewApp(load_county())  # doctest: +SKIP
    >>> app.township.value = "泼机镇"  # doctest: +SKIP
    >>> app.widget  # doctest: +SKIP
    """

    def __init__(self, county: CountyData, *, top: int = 12) -> None:
        super().__init__()
        self.county = county
        self.top = top
        tax = county.taxonomy
        matches = county.matches if len(county.matches) else None
        self.cube = CountyCube.build(
            county.households,
            matches,
            taxonomy=tax,
            levels=("primary",),
        )
        self._build()
        self.update()

    # widgets
    def _build(self) -> None:
        tax = self.county.taxonomy
        towns = [("全部乡镇 all townships", ALL)] + [
            (t, t) for t in self.cube.townships
        ]
        causes = [("全部原因 all causes", ALL)] + [
            (f"{tax.name(c, 'zh')} {tax.name(c, 'en')}", c) for c in self.cube.primaries
        ]
        layout = widgets.Layout(width="auto", min_width="220px")
        self.township = widgets.Dropdown(
            options=towns, value=ALL, description="乡镇 Township", layout=layout
        )
        self.cause = widgets.Dropdown(
            options=causes, value=ALL, description="原因 Cause", layout=layout
        )
        self.township.add_class("zfb-township")
        self.cause.add_class("zfb-cause")
        style = {"description_width": "initial"}
        self.township.style = style
        self.cause.style = style
        self.headline = widgets.HTML().add_class("zfb-headline")
        self.shares = widgets.HTML().add_class("zfb-shares")
        self.illness = widgets.HTML().add_class("zfb-illness")
        self.skills = widgets.HTML().add_class("zfb-skills")
        self.townships = widgets.HTML().add_class("zfb-townships")
        self.notes = widgets.HTML().add_class("zfb-notes")
        self.sample = widgets.HTML(self._representativeness()).add_class("zfb-sample")
        title = widgets.HTML(
            "<h2>县域概览 County overview</h2>"
            f"<p>数据 data: {esc(self.county.source)}</p>"
        )
        for w in (self.shares, self.illness, self.skills, self.townships):
            w.layout = widgets.Layout(
                flex="1 1 320px", min_width="0", margin="0 12px 0 0"
            )
        grid = widgets.Box(
            [self.shares, self.townships, self.illness, self.skills],
            layout=widgets.Layout(display="flex", flex_flow="row wrap"),
        )
        filters = widgets.Box(
            [self.township, self.cause],
            layout=widgets.Layout(display="flex", flex_flow="row wrap"),
        )
        self.widget = widgets.VBox(
            [title, filters, self.headline, grid, self.sample, self.notes, self.status]
        ).add_class("zfb-overview")
        self.township.observe(self.update, names="value")
        self.cause.observe(self.update, names="value")

    # the one update path
    def update(self, change: object = None) -> None:
        """Redraw every part for the current filters."""
        self._start()
        t, c = _chosen(self.township.value), _chosen(self.cause.value)
        numbers = self.cube.summary(t, c)
        primary = self.cube.cause_shares(t, c, level="primary")
        ill = self.cube.illness(t, c).head(self.top)
        skills = self.cube.training(t, c).head(self.top)
        with self.widget.hold_sync():
            self.headline.value = self._headline(numbers)
            self.shares.value = _share_bars(
                primary, "致贫原因 Causes of poverty (households listing each)"
            )
            self.illness.value = _share_bars(
                ill, "疾病 Illness: the illnesses listed", colour=_ILL
            )
            self.skills.value = _share_bars(
                skills, "培训需求 Training needs: skills lacking", colour=_SKILLS
            )
            self.townships.value = self._by_township(t, c)
            self.notes.value = "".join(message(n, "info") for n in self.cube.notes)
            self._done()

    def _representativeness(self) -> str:
        """Whether the county's households are spread over the townships as
        the registry's are (:func:`zfb.representativeness.representativeness`);
        drawn once, as it does not depend on the filters."""
        title = "<h4>样本代表性 Representativeness of the records</h4>"
        registry = self.county.registry
        if registry is None:
            return title + message(
                "give the registry's households per township to test it "
                "(zfb serve --registry FILE, columns township and households)",
                "info",
            )
        try:
            rep = representativeness(registry, self.county.households)
        except ValidationError as exc:
            return title + "".join(message(str(p), "error") for p in exc.problems)
        figures = cards(
            [
                ("覆盖率 coverage", fmt_pct(rep.coverage)),
                ("卡方 p chi-square p-value", f"{rep.p_value:.3g}"),
                ("效应量 Cohen's w", f"{rep.cohens_w:.3f}"),
                ("总变差 total variation", fmt_pct(rep.total_variation)),
            ]
        )
        table = rep.table.reset_index()
        bars = bar_chart(
            table.iloc[:, 0].astype(str).tolist(),
            table["coverage"].tolist(),
            [
                f"{fmt_pct(c)} ({s:,} / {r:,})"
                for c, s, r in zip(
                    table["coverage"],
                    table["sampled"],
                    table["registered"],
                    strict=True,
                )
            ],
            title="覆盖率 Coverage by township (recorded / registered)",
            vmax=float(table["coverage"].max()),
            colour="#5d6d7e",
        )
        caveats = "".join(message(c, "info") for c in rep.caveats)
        return title + figures + f"<p>{esc(rep.verdict)}</p>" + bars + caveats

    def _headline(self, s: dict) -> str:
        items = [
            ("户数 households", fmt_int(s["households"])),
            ("人数 people", fmt_int(s["people"])),
            ("乡镇 townships", fmt_int(s["townships"])),
            ("村 villages", fmt_int(s.get("villages", 0))),
            (
                "人均收入中位数 median income/person",
                fmt_money(s["median_income_per_capita"]),
            ),
            ("需求总额 total need", fmt_money(s["total_need"])),
        ]
        if self.cube.has_matches:
            items += [
                ("已对接户 matched households", fmt_int(s["matched_households"])),
                ("对接比例 share matched", fmt_pct(s["share_matched"])),
                ("对接金额 amount matched", fmt_money(s["amount_matched"])),
                ("未满足需求 unmet need", fmt_money(s["unmet_need"])),
            ]
        return cards(items)

    def _by_township(self, t: str | None, c: str | None) -> str:
        title = "受益户 Beneficiaries by township (matched / households)"
        if not self.cube.has_matches:
            return f"<h4>{esc(title)}</h4>" + message(
                "no matches recorded yet (尚无对接记录)", "info"
            )
        table = self.cube.matches_by_township(t, c)
        return bar_chart(
            table["township"].tolist(),
            table["matched"].tolist(),
            [
                f"{m:,} / {h:,} ({fmt_pct(s, 0)})"
                for m, h, s in zip(
                    table["matched"],
                    table["households"],
                    table["share_matched"],
                    strict=True,
                )
            ],
            title=title,
            vmax=float(table["households"].max()) if len(table) else None,
            colour=_MATCHED,
        )


def _chosen(value: str) -> str | None:
    """A filter's value as the cube takes it: None for all."""
    return None if value == ALL else value


def _share_bars(shares, title: str, colour: str = "#c0392b") -> str:
    labels = [
        f"{z} {e}" for z, e in zip(shares["name_zh"], shares["name_en"], strict=True)
    ]
    texts = [
        f"{fmt_pct(s)} ({h:,})"
        for s, h in zip(shares["share"], shares["households"], strict=True)
    ]
    return bar_chart(
        labels, shares["share"].tolist(), texts, title=title, vmax=1.0, colour=colour
    )
