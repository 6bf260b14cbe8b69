"""The custom selection dashboard: a large funder's criteria and budget.

The funder states causes, townships, household traits, an income ceiling,
a number of households and a budget; *select* runs
:func:`zfb.matching.custom.select_custom` and shows the ranked selection
with the reason for each household, the funnel (how many households each
criterion keeps) and a link that downloads the selection as an Excel file.
The file holds the pseudonymous ``household_id``, the township, the amount,
the score and the reason: never a name, a phone number, an ID number or a
village.
"""

from __future__ import annotations

import base64
import io
import logging

import ipywidgets as widgets
import pandas as pd

from ..errors import ConfigError, InfeasibleError
from ..matching.custom import TRAITS, Criteria, select_custom
from .app import AppBase
from .data import CountyData
from .render import cards, esc, fmt_int, fmt_money, message, table

__all__ = ["EXPORT_COLUMNS", "CustomApp", "selection_xlsx"]

logger = logging.getLogger(__name__)

#: Columns of the downloaded selection, in order.
EXPORT_COLUMNS = ["rank", "household_id", "township", "amount", "score", "reason"]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def selection_xlsx(selection: pd.DataFrame) -> bytes:
    """The selection as an Excel workbook, without personal data.

    Parameters
    ----------
    selection : DataFrame
        ``Selection.table`` of :func:`zfb.matching.custom.select_custom`.

    Returns
    -------
    bytes
        An ``.xlsx`` file with one sheet, ``selection``, holding the columns
        :data:`EXPORT_COLUMNS` (those present), one row per household.
    """
    cols = [c for c in EXPORT_COLUMNS if c in selection.columns]
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        selection[cols].to_excel(writer, sheet_name="selection", index=False)
    return buffer.getvalue()


class CustomApp(AppBase):
    """Criteria in, ranked selection with reasons out.

    Parameters
    ----------
    county : CountyData
    time_limit : float, default 20
        Seconds allowed to the solver of one selection.

    Attributes
    ----------
    causes, townships, traits : ipywidgets.SelectMultiple
    income, households, budget : ipywidgets.FloatText / IntText
        0 means no limit.
    run : ipywidgets.Button
    summary, funnel, result, download, message : ipywidgets.HTML
    selection : Selection or None
        The last selection made.
    widget : ipywidgets.VBox
    """

    def __init__(self, county: CountyData, *, time_limit: float = 20.0) -> None:
        super().__init__()
        self.county = county
        self.time_limit = time_limit
        self.selection = None
        self._build()
        self._start()
        self.message.value = message(
            "state the criteria and press 选择 Select (选择条件后点击选择)", "info"
        )
        self._done()

    def _build(self) -> None:
        tax = self.county.taxonomy
        hh = self.county.households
        wide = widgets.Layout(width="100%", max_width="520px")
        style = {"description_width": "initial"}
        self.causes = widgets.SelectMultiple(
            options=[
                (f"{tax.name(c, 'zh')} {tax.name(c, 'en')}", c) for c in tax.primaries
            ],
            description="原因 Causes",
            rows=8,
            layout=wide,
            style=style,
        ).add_class("zfb-causes")
        self.townships = widgets.SelectMultiple(
            options=list(dict.fromkeys(hh["township"].astype(str))),
            description="乡镇 Townships",
            rows=6,
            layout=wide,
            style=style,
        ).add_class("zfb-townships-pick")
        usable = [
            (f"{text}", name)
            for name, (text, columns, _rule) in TRAITS.items()
            if all(c in hh.columns for c in columns)
        ]
        self.traits = widgets.SelectMultiple(
            options=usable, description="特征 Traits", rows=6, layout=wide, style=style
        ).add_class("zfb-traits")
        self.income = widgets.FloatText(
            value=0.0, description="人均收入上限 income ceiling (0: none)", style=style
        ).add_class("zfb-income")
        self.households = widgets.IntText(
            value=0, description="户数 households (0: no limit)", style=style
        ).add_class("zfb-count")
        self.budget = widgets.FloatText(
            value=100000.0, description="预算 budget CNY (0: no limit)", style=style
        ).add_class("zfb-budget")
        self.run = widgets.Button(
            description="选择 Select", button_style="primary", icon="search"
        ).add_class("zfb-run")
        self.summary = widgets.HTML().add_class("zfb-summary")
        self.funnel = widgets.HTML().add_class("zfb-funnel")
        self.result = widgets.HTML().add_class("zfb-result")
        self.download = widgets.HTML().add_class("zfb-download")
        self.message = widgets.HTML().add_class("zfb-message")
        title = widgets.HTML(
            "<h2>定制选择 Custom selection</h2>"
            f"<p>数据 data: {esc(self.county.source)}</p>"
        )
        self.widget = widgets.VBox(
            [
                title,
                self.causes,
                self.townships,
                self.traits,
                self.income,
                self.households,
                self.budget,
                self.run,
                self.message,
                self.summary,
                self.download,
                self.funnel,
                self.result,
                self.status,
            ]
        ).add_class("zfb-custom")
        self.run.on_click(self.update)

    def criteria(self) -> Criteria:
        """The criteria the widgets state.

        Raises
        ------
        ConfigError
            If a number is negative.
        """
        for name, w in (
            ("income ceiling", self.income),
            ("households", self.households),
            ("budget", self.budget),
        ):
            if w.value < 0:
                raise ConfigError(f"{name} must be 0 (no limit) or more; got {w.value}")
        return Criteria(
            causes=tuple(self.causes.value),
            townships=tuple(self.townships.value),
            traits=tuple(self.traits.value),
            income_ceiling=float(self.income.value) or None,
            households=int(self.households.value) or None,
            budget=float(self.budget.value) or None,
            title="定制选择 custom selection",
        )

    # the one update path
    def update(self, change: object = None) -> None:
        """Run the selection for the current criteria and show it."""
        self._start()
        with self.widget.hold_sync():
            try:
                criteria = self.criteria()
                self.selection = select_custom(
                    self.county.households,
                    criteria,
                    self.county.taxonomy,
                    time_limit=self.time_limit,
                )
            except (ConfigError, InfeasibleError) as exc:
                self.selection = None
                self.message.value = message(str(exc), "error")
                self.summary.value = self.funnel.value = ""
                self.result.value = self.download.value = ""
                self._done()
                return
            self.message.value = ""
            self._show(self.selection)
            self._done()

    def _show(self, sel) -> None:
        chosen = sel.table
        left = int(sel.funnel["left"].iloc[-1]) if len(sel.funnel) else 0
        self.summary.value = cards(
            [
                ("入选户 selected households", fmt_int(len(chosen))),
                ("符合条件 households that fit", fmt_int(left)),
                ("金额 amount", fmt_money(chosen["amount"].sum())),
                ("总分 total score", f"{sel.total_score:.3f}"),
                ("求解 solve", f"{sel.status} ({sel.solver})"),
            ]
        )
        self.funnel.value = "<h4>筛选 Funnel</h4>" + table(
            sel.funnel,
            {
                "criterion": "条件 criterion",
                "value": "值 value",
                "alone": "单独 alone",
                "left": "剩余 left",
            },
            formats={"alone": fmt_int, "left": fmt_int},
            numeric=("alone", "left"),
            empty="no criterion given: every household fits",
        )
        self.result.value = "<h4>排序 Ranked selection</h4>" + table(
            chosen,
            {
                "rank": "#",
                "household_id": "户 household",
                "township": "乡镇 township",
                "amount": "金额 amount",
                "score": "得分 score",
                "reason": "理由 why",
            },
            formats={"amount": fmt_money, "score": lambda s: f"{s:.3f}"},
            numeric=("rank", "amount", "score"),
            max_rows=200,
        )
        data = base64.b64encode(selection_xlsx(chosen)).decode("ascii")
        self.download.value = (
            f'<a download="custom-selection.xlsx" href="data:{_XLSX};base64,{data}" '
            'class="zfb-xlsx">下载 Excel · download the selection (.xlsx)</a>'
        )
