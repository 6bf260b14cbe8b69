"""The matching dashboard: a funder's recommended households and bundles.

A funder picks a mode (single household, bundle, crowdfunding) and one of
the projects that accept it, and sees:

- **single**: the top households for the project, each with the plain
  explanation of its score (:class:`zfb.matching.recommend.Recommender`);
  picking one and pressing *accept* records that match as accepted (in the
  store when there is one, changing no other match), and the lists move on;
- **bundle**: the top bundles of households sharing a cause in a township
  (:func:`zfb.matching.bundles.make_bundles`), and the households of the
  bundle picked, without personal data;
- **crowdfunding**: how the projects' money is split among the needs
  (:func:`zfb.matching.crowdfunding.crowdfund`): the project's allocations
  and the progress of every need of the county.

Each mode is computed when it is first picked and kept for the session.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import warnings

import ipywidgets as widgets
import pandas as pd

from .. import analysis
from ..errors import ZfbError
from ..matching.modes import accepts_mode
from .app import AppBase
from .data import CountyData, accept_in_store
from .render import cards, esc, fmt_int, fmt_money, fmt_pct, message, table

__all__ = ["MODES", "MatchingApp"]

logger = logging.getLogger(__name__)

#: Modes the dashboard offers, with their labels.
MODES = {
    "single": "单户 single household",
    "bundle": "打包 bundle",
    "crowdfunding": "众筹 crowdfunding",
}
#: Who accepts matches on this page, as the audit log and the book record it.
ACTOR = "funder:dashboard"


def _label(row) -> str:
    title = row.get("title") if isinstance(row.get("title"), str) else ""
    return f"{row['project_id']} · {title} ({row['funder']})".replace(" () ", " ")


class MatchingApp(AppBase):
    """Recommendations for one project at a time, and accepting a match.

    Parameters
    ----------
    county : CountyData
    k : int, default 10
        Households (or bundles) recommended per project.
    bundle_size : int, default 5
        Households per bundle.
    as_of : date, optional
        Date of the crowdfunding run; default today.

    Attributes
    ----------
    mode : ipywidgets.ToggleButtons
    project : ipywidgets.Dropdown
        Projects that accept the mode (value: ``project_id``).
    pick : ipywidgets.Dropdown
        A recommended household (single) or bundle (bundle).
    accept : ipywidgets.Button
    info, listing, detail, message, accepted : ipywidgets.HTML
    book : zfb.matching.states.MatchBook
        The matches accepted in this session and, from a store, those it
        held (accepted, funded, delivered) or declined when the page opened,
        with their histories.
    widget : ipywidgets.VBox
    """

    def __init__(
        self,
        county: CountyData,
        *,
        k: int = 10,
        bundle_size: int = 5,
        as_of: dt.date | None = None,
    ) -> None:
        from ..matching.states import MatchBook

        super().__init__()
        self.county = county
        self.k = k
        self.bundle_size = bundle_size
        self.as_of = as_of or dt.date.today()
        self.book = MatchBook()
        self._recommenders: dict = {}
        self._bundles = None
        self._crowd = None
        self._rows = pd.DataFrame()
        self._filling = False
        self._hold_stored()
        self._build()
        self.update()

    def _hold_stored(self) -> None:
        """Start the book from the store's held and declined matches, with
        their histories (a copy: the page adds to it)."""
        if self.county.book is not None:
            self.book = copy.deepcopy(self.county.book)

    # widgets
    def _build(self) -> None:
        self.mode = widgets.ToggleButtons(
            options=[(v, k) for k, v in MODES.items()],
            value="single",
            style={"button_width": "auto"},
        ).add_class("zfb-mode")
        self.project = widgets.Dropdown(
            description="项目 Project",
            layout=widgets.Layout(width="auto", max_width="100%"),
            style={"description_width": "initial"},
        ).add_class("zfb-project")
        self.pick = widgets.Dropdown(
            description="选择 Pick",
            layout=widgets.Layout(width="auto"),
            style={"description_width": "initial"},
        ).add_class("zfb-pick")
        self.accept = widgets.Button(
            description="接受对接 Accept match",
            button_style="success",
            icon="check",
            layout=widgets.Layout(width="auto"),
        ).add_class("zfb-accept")
        self.info = widgets.HTML().add_class("zfb-info")
        self.listing = widgets.HTML().add_class("zfb-listing")
        self.detail = widgets.HTML().add_class("zfb-detail")
        self.message = widgets.HTML().add_class("zfb-message")
        self.accepted = widgets.HTML().add_class("zfb-accepted")
        title = widgets.HTML(
            f"<h2>帮扶对接 Matching</h2><p>数据 data: {esc(self.county.source)}</p>"
        )
        self.widget = widgets.VBox(
            [
                title,
                self.mode,
                self.project,
                self.info,
                self.listing,
                widgets.HBox([self.pick, self.accept]),
                self.message,
                self.detail,
                self.accepted,
                self.status,
            ]
        ).add_class("zfb-matching")
        self._fill_projects()
        self.mode.observe(self._mode_changed, names="value")
        self.project.observe(self._project_changed, names="value")
        self.pick.observe(self._pick_changed, names="value")
        self.accept.on_click(self._accept)

    def _fill_projects(self) -> None:
        pr = self.county.projects
        mine = pr[accepts_mode(pr["modes"], self.mode.value)]
        options = [(_label(r), r["project_id"]) for r in mine.to_dict("records")]
        self.project.options = options
        self.project.value = options[0][1] if options else None

    def _mode_changed(self, change=None) -> None:
        self._filling = True
        try:
            self._fill_projects()
        finally:
            self._filling = False
        self.update()

    def _project_changed(self, change=None) -> None:
        if not self._filling:
            self.update()

    # computing, once per mode
    def recommender(self, mode: str):
        """The :class:`~zfb.matching.recommend.Recommender` of ``mode``."""
        from ..matching.recommend import Recommender

        if mode not in self._recommenders:
            self._recommenders[mode] = Recommender(
                self.county.households,
                self.county.projects,
                self.county.taxonomy,
                k=self.k,
                book=self.book,
                mode=mode,
            )
        return self._recommenders[mode]

    def bundles(self):
        """The county's bundles (:func:`zfb.matching.bundles.make_bundles`)."""
        from ..matching.bundles import make_bundles

        if self._bundles is None:
            self._bundles = make_bundles(
                self.county.households,
                self.bundle_size,
                cause="primary",
                taxonomy=self.county.taxonomy,
            )
        return self._bundles

    def crowdfunding(self):
        """The crowdfunding run of the county at ``as_of``."""
        from ..matching.crowdfunding import crowdfund

        if self._crowd is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self._crowd = crowdfund(
                    self.county.households,
                    self.county.projects,
                    taxonomy=self.county.taxonomy,
                    as_of=self.as_of,
                )
        return self._crowd

    # the one update path
    def update(self, change: object = None) -> None:
        """Redraw the project, its recommendations and the accepted matches."""
        self._start()
        mode, pid = self.mode.value, self.project.value
        with self.widget.hold_sync():
            if pid is None:
                self.info.value = message(f"no project accepts mode {mode}", "info")
                self.listing.value = self.detail.value = ""
                self.pick.options = []
            elif mode == "single":
                self._show_single(pid)
            elif mode == "bundle":
                self._show_bundles(pid)
            else:
                self._show_crowdfunding(pid)
            self.accept.disabled = mode != "single" or not len(self._rows)
            self.accepted.value = self._accepted_html()
            self._done()

    def _project_cards(self, pid: str, extra=()) -> str:
        pr = self.county.projects
        row = pr[pr["project_id"] == pid].iloc[0]
        used = analysis.matches_by_project(self.book.held(), pr)
        use = used[used["project_id"] == pid].iloc[0]
        tags = "; ".join(
            self.county.taxonomy.name(t, "zh") for t in str(row["tags"]).split(";")
        )
        head = (
            f"<h4>{esc(row.get('title', ''))}</h4>"
            f"<p>{esc(row['funder'])} · {esc(tags)} · {esc(row['townships'])}</p>"
        )
        items = [
            ("预算 budget", fmt_money(row["budget"])),
            ("已用 used", fmt_pct(use["budget_used"])),
            ("名额 capacity", fmt_int(row["capacity"])),
            ("已接受 accepted households", fmt_int(use["households"])),
            *extra,
        ]
        return head + cards(items)

    def _show_single(self, pid: str) -> None:
        rec = self.recommender("single").for_project([pid])
        self._rows = rec
        self.info.value = self._project_cards(pid)
        self.listing.value = "<h4>推荐户 Recommended households</h4>" + table(
            rec,
            {
                "rank": "#",
                "household_id": "户 household",
                "amount": "金额 amount",
                "score": "得分 score",
                "explanation": "理由 why",
            },
            formats={"amount": fmt_money, "score": lambda s: f"{s:.3f}"},
            numeric=("rank", "amount", "score"),
            empty="no household can be recommended: none is eligible, or the "
            "project has no place or budget left",
        )
        self._set_pick(
            [(f"{r.rank}. {r.household_id}", r.household_id) for r in rec.itertuples()]
        )
        self.detail.value = ""

    def _show_bundles(self, pid: str) -> None:
        bundles = self.bundles()
        rec = self.recommender("bundle").bundles_for_project(bundles, [pid])
        self._rows = pd.DataFrame()
        self.info.value = self._project_cards(pid)
        self.listing.value = "<h4>推荐打包 Recommended bundles</h4>" + table(
            rec,
            {
                "rank": "#",
                "bundle_id": "包 bundle",
                "households": "户数 households",
                "amount": "金额 amount",
                "explanation": "理由 why",
            },
            formats={"amount": fmt_money},
            numeric=("rank", "households", "amount"),
            empty="no bundle fits this project (its causes, townships, places "
            "and budget)",
        )
        self._set_pick(
            [(f"{r.rank}. {r.bundle_id}", r.bundle_id) for r in rec.itertuples()]
        )
        self._pick_changed()

    def _set_pick(self, options: list[tuple[str, str]]) -> None:
        """New choices for :attr:`pick`, the first one chosen."""
        self.pick.options = options
        self.pick.value = options[0][1] if options else None

    def _pick_changed(self, change=None) -> None:
        if self.mode.value != "bundle" or self.pick.value is None:
            return
        page = self.bundles().page(self.pick.value)
        self.detail.value = f"<h4>{esc(self.pick.value)}</h4>" + table(
            page,
            {
                "household_id": "户 household",
                "township": "乡镇 township",
                "village": "村 village",
                "size": "人口 size",
                "causes": "原因 causes",
                "need_amount": "需求 need",
            },
            formats={"need_amount": fmt_money},
            numeric=("size", "need_amount"),
        )

    def _show_crowdfunding(self, pid: str) -> None:
        run = self.crowdfunding()
        self._rows = pd.DataFrame()
        self.pick.options = []
        spent = run.projects[run.projects["project_id"] == pid]
        extra = []
        if len(spent):
            s = spent.iloc[0]
            extra = [
                ("众筹拨付 allocated", fmt_money(s["spent"])),
                ("资助需求 needs funded", fmt_int(s["households"])),
            ]
        self.info.value = self._project_cards(pid, extra)
        mine = run.matches[run.matches["project_id"] == pid]
        self.listing.value = "<h4>众筹分配 Allocations of this project</h4>" + table(
            mine,
            {
                "household_id": "户 household",
                "amount": "金额 amount",
                "share": "占需求 share of need",
                "explanation": "理由 why",
            },
            formats={"amount": fmt_money, "share": fmt_pct},
            numeric=("amount", "share"),
            empty="this project's money goes to no need at this date",
            max_rows=50,
        )
        progress = run.progress
        states = progress["state"].value_counts()
        items = [(f"{s} needs", fmt_int(n)) for s, n in states.items()]
        items += [
            ("已筹 funded", fmt_money(progress["funded"].sum())),
            ("尚缺 remaining", fmt_money(progress["remaining"].sum())),
        ]
        when = f"众筹进度 Progress of every need, {self.as_of.isoformat()}"
        self.detail.value = f"<h4>{esc(when)}</h4>" + cards(items)

    def _accepted_html(self) -> str:
        held = self.book.held()
        return "<h4>已接受 Accepted matches</h4>" + table(
            held,
            {
                "household_id": "户 household",
                "project_id": "项目 project",
                "amount": "金额 amount",
                "status": "状态 status",
            },
            formats={"amount": fmt_money},
            numeric=("amount",),
            empty="none yet",
        )

    # accepting
    def accept_household(self, household_id: str) -> None:
        """Accept the match of the current project with a recommended household.

        The match is proposed and accepted in :attr:`book`, saved as accepted
        in the store when the county comes from one, and the
        recommendations are brought up to date.

        Raises
        ------
        ZfbError
            If the household is not recommended for the project now, or the
            store refuses the change.
        """
        rows = self._rows[self._rows["household_id"] == household_id]
        if rows.empty:
            raise ZfbError(
                f"{household_id} is not among the recommended households of "
                f"{self.project.value}; pick one of the list"
            )
        row = rows.iloc[[0]][
            ["household_id", "project_id", "amount", "score", "explanation"]
        ]
        if self.county.db:
            accept_in_store(self.county.db, row, actor=ACTOR)
        [mid] = self.book.propose(row, actor=ACTOR)
        self.book.accept(mid, actor=ACTOR)
        for rec in self._recommenders.values():
            rec.sync()

    def _accept(self, button=None) -> None:
        hid = self.pick.value
        try:
            if hid is None:
                raise ZfbError("pick a recommended household first")
            self.accept_household(hid)
        except ZfbError as exc:
            self.update()
            self.message.value = message(str(exc), "error")
            return
        self.update()
        self.message.value = message(
            f"已接受 accepted: {hid} → {self.project.value}", "ok"
        )
