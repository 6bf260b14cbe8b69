"""The intake dashboard: a cadre enters or corrects one household, on a phone.

One column of fields, full width, so it reads on a 390-pixel screen:
township and village pickers, the head's name (optional, kept for the
store), size, income, the main cause picked in two steps (primary category,
then one of its secondary causes), an optional second cause, the need and
its amount. Every change runs :func:`zfb.io.validate_households` on the
record and writes each problem under its field. *Save* writes the record to
the store (:func:`zfb.store.import_households` for a new household,
:func:`zfb.store.update_household` for a correction); the overview shows it
the next time it is opened.

The head's name is never shown as typed once it has been saved or loaded:
only :func:`~zfb.dashboards.render.mask_name` of it (``张**``).
"""

from __future__ import annotations

import logging
import re

import ipywidgets as widgets
import pandas as pd

from ..errors import Problem, ValidationError, ZfbError
from ..io import validate_households
from ..synth import load_townships
from .app import AppBase
from .data import CountyData
from .render import esc, lines, mask_name, message

__all__ = ["ACTOR", "FIELDS", "IntakeApp", "next_household_id"]

logger = logging.getLogger(__name__)

#: Who saves on this page, as the store's audit log records it.
ACTOR = "cadre:intake"
#: The fields of the form, in order: canonical column -> label.
FIELDS = {
    "household_id": "户号 household id",
    "township": "乡镇 township",
    "village": "村 village",
    "name": "户主姓名 head's name (optional)",
    "size": "人口 household size",
    "income_per_capita": "人均年收入 income per person (CNY/year)",
    "causes": "致贫原因 causes",
    "need_kind": "需求 need",
    "need_amount": "需求金额 need amount (CNY)",
}
_NONE = ""
_PHONE = widgets.Layout(width="100%", max_width="560px")


def next_household_id(ids: pd.Series, prefix: str = "ZX") -> str:
    """A household id not yet used: the prefix and one more than the largest
    number among the ids of that form, with as many digits.

    Examples
    --------
    >>> next_household_id(pd.Series(["ZX000009", "ZX000010"]))
    'ZX000011'
    """
    found = ids.astype(str).str.extract(rf"^{re.escape(prefix)}(\d+)$")[0].dropna()
    if found.empty:
        return f"{prefix}000001"
    width = int(found.str.len().max())
    return f"{prefix}{int(found.astype(int).max()) + 1:0{width}d}"


class IntakeApp(AppBase):
    """Enter or correct one household, with inline validation.

    Parameters
    ----------
    county : CountyData
        Its households give the villages of each township and the ids in
        use; ``county.db`` is the store that *save* writes to (without one
        the form validates but does not save).

    Attributes
    ----------
    inputs : dict of str to widget
        The field widgets, keyed by canonical column (``causes`` is made of
        ``primary``, ``secondary``, ``primary2`` and ``secondary2``).
    errors : dict of str to ipywidgets.HTML
        The problems of each field, written under it (CSS class
        ``zfb-error-<field>``).
    problems : list of Problem
        What the last validation found.
    record : DataFrame or None
        The canonical one-row table of the last valid record.
    saved : list of str
        Ids saved in this session.
    widget : ipywidgets.VBox
    """

    def __init__(self, county: CountyData) -> None:
        super().__init__()
        self.county = county
        self.problems: list[Problem] = []
        self.record: pd.DataFrame | None = None
        self.saved: list[str] = []
        self._version: int | None = None
        self._quiet = False
        towns = load_townships()["name"].tolist()
        extra = county.households["township"].astype(str).unique().tolist()
        self.township_names = list(dict.fromkeys(towns + extra))
        self._build()
        self.update()

    # widgets
    def _build(self) -> None:
        tax = self.county.taxonomy
        style = {"description_width": "initial"}

        def text(name, value=""):
            return widgets.Text(value=value, placeholder=FIELDS[name], layout=_PHONE)

        hid = next_household_id(self.county.households["household_id"])
        self.inputs = {
            "household_id": text("household_id", hid),
            "township": widgets.Dropdown(
                options=[("— 选择 choose —", _NONE)]
                + [(t, t) for t in self.township_names],
                value=_NONE,
                layout=_PHONE,
            ),
            "village": widgets.Combobox(
                placeholder="村 village", ensure_option=False, layout=_PHONE
            ),
            "name": text("name"),
            "size": text("size"),
            "income_per_capita": text("income_per_capita"),
            "primary": widgets.Dropdown(
                options=[("— 主要原因 main cause —", _NONE)]
                + [
                    (f"{tax.name(c, 'zh')} {tax.name(c, 'en')}", c)
                    for c in tax.primaries
                ],
                value=_NONE,
                layout=_PHONE,
            ),
            "secondary": widgets.Dropdown(options=[("—", _NONE)], layout=_PHONE),
            "primary2": widgets.Dropdown(
                options=[("— 其他原因 other cause (optional) —", _NONE)]
                + [
                    (f"{tax.name(c, 'zh')} {tax.name(c, 'en')}", c)
                    for c in tax.primaries
                ],
                value=_NONE,
                layout=_PHONE,
            ),
            "secondary2": widgets.Dropdown(options=[("—", _NONE)], layout=_PHONE),
            "more_causes": widgets.Text(
                placeholder="更多原因 more causes: codes or names, joined by ;",
                layout=_PHONE,
            ),
            "need_kind": widgets.Dropdown(
                options=[("— 需求 need (optional) —", _NONE)]
                + [
                    (f"{r.name_zh} {r.name_en}", code)
                    for code, r in tax.need_kinds.iterrows()
                ],
                value=_NONE,
                layout=_PHONE,
            ),
            "need_amount": text("need_amount"),
        }
        for name, w in self.inputs.items():
            w.add_class(f"zfb-in-{name}")
            w.style = style
        self.errors = {
            name: widgets.HTML(layout=_PHONE).add_class(f"zfb-error-{name}")
            for name in FIELDS
        }
        self.load = widgets.Button(description="读取 Load", icon="download").add_class(
            "zfb-load"
        )
        self.save = widgets.Button(
            description="保存 Save", button_style="success", icon="save", layout=_PHONE
        ).add_class("zfb-save")
        self.message = widgets.HTML(layout=_PHONE).add_class("zfb-message")
        self.general = widgets.HTML(layout=_PHONE).add_class("zfb-error-general")
        store = (
            f"保存到 saves to: {self.county.source}"
            if self.county.db
            else "没有数据库: 只校验不保存 no store: the form checks but does not save "
            "(start zfb serve --db)"
        )
        rows = [
            widgets.HTML(f"<h2>入户登记 Intake</h2><p>{esc(store)}</p>", layout=_PHONE),
        ]
        order = [
            ("household_id", ["household_id"]),
            ("township", ["township"]),
            ("village", ["village"]),
            ("name", ["name"]),
            ("size", ["size"]),
            ("income_per_capita", ["income_per_capita"]),
            (
                "causes",
                ["primary", "secondary", "primary2", "secondary2", "more_causes"],
            ),
            ("need_kind", ["need_kind"]),
            ("need_amount", ["need_amount"]),
        ]
        for field, names in order:
            rows.append(widgets.HTML(f"<b>{esc(FIELDS[field])}</b>", layout=_PHONE))
            rows += [self.inputs[n] for n in names]
            if field == "household_id" and self.county.db:
                rows.append(self.load)
            rows.append(self.errors[field])
        rows += [self.general, self.save, self.message, self.status]
        self.widget = widgets.VBox(rows, layout=_PHONE).add_class("zfb-intake")
        for w in self.inputs.values():
            w.observe(self._changed, names="value")
        self.save.on_click(self._save)
        self.load.on_click(self._load)

    # cascades
    def _secondaries(self, primary: str, target: str) -> None:
        tax = self.county.taxonomy
        if primary == _NONE:
            options = [("—", _NONE)]
        else:
            options = [(f"{tax.name(primary, 'zh')} (未细分 category only)", primary)]
            options += [
                (f"{tax.name(c, 'zh')} {tax.name(c, 'en')}", c)
                for c in tax.children(primary)
            ]
        self.inputs[target].options = options
        self.inputs[target].value = options[0][1]

    def _villages(self, township: str) -> None:
        hh = self.county.households
        if "village" not in hh.columns:
            return
        mine = hh.loc[hh["township"] == township, "village"].dropna().astype(str)
        self.inputs["village"].options = sorted(mine.unique().tolist())

    def _changed(self, change) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            owner = change["owner"]
            if owner is self.inputs["primary"]:
                self._secondaries(change["new"], "secondary")
            elif owner is self.inputs["primary2"]:
                self._secondaries(change["new"], "secondary2")
            elif owner is self.inputs["township"]:
                self._villages(change["new"])
        finally:
            self._quiet = False
        self.update()

    # the record
    def raw(self) -> dict[str, str]:
        """The form as a raw record: canonical column -> text."""
        v = {k: w.value for k, w in self.inputs.items()}
        more = [c.strip() for c in re.split(r"[;；,，]", v["more_causes"])]
        causes = [c for c in (v["secondary"], v["secondary2"], *more) if c]
        return {
            "household_id": v["household_id"].strip(),
            "township": v["township"],
            "village": v["village"].strip(),
            "name": v["name"].strip(),
            "size": v["size"].strip(),
            "income_per_capita": v["income_per_capita"].strip(),
            "causes": ";".join(dict.fromkeys(causes)),
            "need_kind": v["need_kind"],
            "need_amount": v["need_amount"].strip(),
        }

    def validate(self) -> pd.DataFrame | None:
        """Check the form; return the canonical record, or None with the
        problems in :attr:`problems`."""
        raw = self.raw()
        if not raw["name"]:
            raw.pop("name")
        try:
            record = validate_households(
                pd.DataFrame([raw]),
                source="intake",
                taxonomy=self.county.taxonomy,
                townships=self.township_names,
                keep_personal=True,
            )
        except ValidationError as exc:
            self.problems = list(exc.problems)
            return None
        self.problems = []
        return record

    # the one update path
    def update(self, change: object = None) -> None:
        """Validate the form and write each problem under its field."""
        self._start()
        self.record = self.validate()
        by_field: dict[str, list[str]] = {name: [] for name in FIELDS}
        general = []
        for p in self.problems:
            column = p.column if p.column in by_field else None
            text = p.rule if p.value == "" else f"{p.value}: {p.rule}"
            if p.column == "name":
                text = p.rule  # the name is not repeated
            (by_field[column] if column else general).append(text)
        with self.widget.hold_sync():
            for name, box in self.errors.items():
                box.value = lines(by_field[name], "error")
            self.general.value = lines(general, "error")
            self.save.disabled = self.record is None
            self._done()

    # saving
    def save_record(self) -> str:
        """Write the valid record to the store; return what was done.

        Raises
        ------
        ZfbError
            If the form is not valid, there is no store, or the store
            refuses the record (another writer changed it meanwhile, say).
        """
        from ..store import import_households, open_store, update_household
        from ..store import view as store_view
        from ..store.roles import Role

        if self.record is None:
            raise ZfbError("the form has problems: correct the fields marked in red")
        if not self.county.db:
            raise ZfbError(
                "not saved: this page has no store; start it with zfb serve --db URL"
            )
        record = self.record
        hid = str(record["household_id"].iloc[0])
        with open_store(self.county.db) as store:
            stored = store_view(store, "households", Role.administrator())
            old = stored[stored["household_id"] == hid]
            if old.empty:
                import_households(store, record, actor=ACTOR, source="intake")
                done = "added"
            else:
                version = int(old["version"].iloc[0])
                changes = {
                    c: record[c].iloc[0]
                    for c in record.columns
                    if c != "household_id" and not pd.isna(record[c].iloc[0])
                }
                update_household(
                    store,
                    hid,
                    changes,
                    version=version,
                    actor=ACTOR,
                    taxonomy=self.county.taxonomy,
                )
                done = "updated"
        self.saved.append(hid)
        return done

    def _save(self, button=None) -> None:
        try:
            done = self.save_record()
        except ZfbError as exc:
            self.message.value = message(str(exc), "error")
            return
        rec = self.record
        who = mask_name(rec["name"].iloc[0]) if "name" in rec.columns else ""
        shown = f"已保存 saved ({done}): {rec['household_id'].iloc[0]}"
        if who:
            shown += f", 户主 head {who}"
        self.message.value = message(shown, "ok")
        self.inputs["name"].value = ""  # the name is not kept on the page
        hh = pd.concat([self.county.households["household_id"], rec["household_id"]])
        self._quiet = True
        self.inputs["household_id"].value = next_household_id(hh)
        self._quiet = False
        self.update()

    def load_household(self, household_id: str) -> None:
        """Fill the form with a stored household, to correct it.

        The head's name is not put back into the form; it is shown masked,
        and an empty name field leaves the stored name as it is.

        Raises
        ------
        ZfbError
            If there is no store or no such household in it.
        """
        from ..store import open_store
        from ..store import view as store_view
        from ..store.roles import Role

        if not self.county.db:
            raise ZfbError("no store to load from; start with zfb serve --db URL")
        with open_store(self.county.db) as store:
            table = store_view(store, "households", Role.administrator())
        rows = table[table["household_id"] == household_id]
        if rows.empty:
            raise ZfbError(f"no household {household_id} in the store")
        row = rows.iloc[0]
        tax = self.county.taxonomy
        codes = [c for c in str(row["causes"]).split(";") if c]
        self._quiet = True
        try:
            self.inputs["township"].value = str(row["township"])
            self._villages(str(row["township"]))
            self.inputs["village"].value = (
                "" if pd.isna(row.get("village")) else str(row["village"])
            )
            self.inputs["name"].value = ""
            self.inputs["size"].value = str(int(row["size"]))
            self.inputs[
                "income_per_capita"
            ].value = f"{float(row['income_per_capita']):g}"
            for k, (p, s) in enumerate(
                (("primary", "secondary"), ("primary2", "secondary2"))
            ):
                code = codes[k] if k < len(codes) else _NONE
                self.inputs[p].value = tax.primary(code) if code else _NONE
                self._secondaries(self.inputs[p].value, s)
                self.inputs[s].value = code
            self.inputs["more_causes"].value = ";".join(codes[2:])
            kind = row.get("need_kind")
            self.inputs["need_kind"].value = _NONE if pd.isna(kind) else str(kind)
            amount = row.get("need_amount")
            self.inputs["need_amount"].value = (
                "" if pd.isna(amount) else f"{float(amount):g}"
            )
        finally:
            self._quiet = False
        self._version = int(row["version"])
        who = mask_name(row.get("name"))
        self.message.value = message(
            f"已读取 loaded {household_id}" + (f", 户主 head {who}" if who else ""),
            "info",
        )
        self.update()

    def _load(self, button=None) -> None:
        try:
            self.load_household(self.inputs["household_id"].value.strip())
        except ZfbError as exc:
            self.message.value = message(str(exc), "error")
