"""Tests of the county HTML report (zfb.report)."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from zfb import ZfbWarning
from zfb import analysis as an
from zfb.report import render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TOWN = "<script>alert(1)</script>"
HOSTILE_TITLE = '<img src=x onerror="alert(2)">'
HOSTILE_FUNDER = '"><script>alert(3)</script>'
PERSONAL = "张三 13800138000"

ROWS = [
    # household_id, township, size, income, causes, need_kind, need_amount
    ("H1", "甲镇", 4, 2600.0, "ILL.CANCER;ILL.HEART;LAB.NO_ADULT", "medical_costs", 8000.0),  # noqa: E501
    ("H2", "甲镇", 2, 1800.0, "EDU.COLLEGE", "tuition", 5000.0),
    ("H3", HOSTILE_TOWN, 5, 3100.0, "LAB.FARM_SKILL;RES.NO_ROAD", "skills_training", 1500.0),  # noqa: E501
    ("H4", HOSTILE_TOWN, 3, 2200.0, "ILL.STROKE", None, np.nan),
    ("H5", "乙乡", 1, 900.0, "FAM.LOW_DRIVE;ILL.UREMIA", "medical_costs", 12000.0),
]  # fmt: skip
MATCHED = {"H1": 6000.0, "H3": 1500.0}


def make_households() -> pd.DataFrame:
    table = pd.DataFrame(
        ROWS,
        columns=[
            "household_id",
            "township",
            "size",
            "income_per_capita",
            "causes",
            "need_kind",
            "need_amount",
        ],
    )
    table["village"] = ["v1", "v1", "v2", "v2", "v3"]
    table["notes"] = PERSONAL  # free text that must never reach the report
    return table


def make_projects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "funder": [HOSTILE_FUNDER, "某基金会", "某公司"],
            "tags": ["ILL", "LAB", "EDU"],
            "budget": [10000.0, 3000.0, 2000.0],
            "capacity": [2, 4, 1],
            "townships": ["*", "*", "*"],
            "per_household_cap": [np.nan, np.nan, np.nan],
            "modes": ["single", "single", "single"],
            "title": [HOSTILE_TITLE, "技能培训", "助学"],
        }
    )


def make_matches() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": list(MATCHED),
            "project_id": ["P1", "P2"],
            "amount": list(MATCHED.values()),
            "score": [0.8, 0.5],
            "explanation": ["", ""],
        }
    )


# reading the page back
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}


class Page(HTMLParser):
    """Tags, attributes, images and the tables of a report, with a check
    that every element is closed in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: Counter = Counter()
        self.attrs: list[tuple[str, str, str | None]] = []
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.h2: list[str] = []
        self._table = self._row = self._col = None
        self._text: list[str] = []
        self._in_h2 = self._in_head = False
        self.feed(html)
        self.close()
        assert self.stack == [], f"unclosed elements {self.stack}"

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += [(tag, k, v) for k, v in attrs]
        attrs = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = {}
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table and not self._in_head:
            key = attrs.get("data-key", str(len(self.tables[self._table])))
            self._row = self.tables[self._table].setdefault(key, {})
        elif tag == "td" and self._row is not None:
            self._col, self._text = attrs.get("data-col"), []
        elif tag == "h2":
            self._in_h2, self._text = True, []

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()
        if tag == "td" and self._col is not None:
            self._row[self._col] = "".join(self._text)
            self._col = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "h2":
            self.h2.append("".join(self._text))
            self._in_h2 = False

    def handle_data(self, data):
        if self._col is not None or self._in_h2:
            self._text.append(data)


def number(text: str) -> float:
    text = text.replace(",", "")
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def pct(x: float) -> str:
    return f"{x:.1%}"


@pytest.fixture
def households() -> pd.DataFrame:
    return make_households()


@pytest.fixture
def projects() -> pd.DataFrame:
    return make_projects()


@pytest.fixture
def matches() -> pd.DataFrame:
    return make_matches()


@pytest.fixture(scope="module")
def html() -> str:
    """The full report, rendered once for the tests that only read it."""
    return render_report(
        make_households(), projects=make_projects(), matches=make_matches()
    )


@pytest.fixture(scope="module")
def page(html) -> Page:
    return Page(html)


# the file
def test_write_report_writes_one_html_file(tmp_path, households, projects, matches):
    path = tmp_path / "report.html"
    out = write_report(households, path, projects=projects, matches=matches)
    assert out == path
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in text
    Page(text)  # parses, every element closed in order
    assert list(tmp_path.iterdir()) == [path]  # nothing else written


def test_no_external_resource(html, page):
    assert "http://" not in html and "https://" not in html
    for tag, attr, value in page.attrs:
        if attr in ("src", "href", "action", "srcset", "poster"):
            assert value.startswith("data:image/png;base64,"), (tag, attr)
    for tag in ("script", "link", "iframe", "object", "embed", "form"):
        assert page.tags[tag] == 0, tag
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    assert "@import" not in style
    # the only url() is the embedded font, a data URI
    urls = re.findall(r"url\(([^)]*)\)", style)
    assert all(u.startswith("data:font/otf;base64,") for u in urls), urls


def test_embedded_font_has_every_chinese_character_shown(html):
    from fontTools.ttLib import TTFont

    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    data = re.search(r"url\(data:font/otf;base64,([^)]*)\)", style).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data, validate=True)))
    cmap = font.getBestCmap()
    body = html.split("</style>", 1)[1]
    shown = {ord(c) for c in body if 0x4E00 <= ord(c) <= 0x9FFF}
    assert shown and shown <= set(cmap)
    assert len(data) < 2_000_000  # a subset, not the 8 MB font


def test_embedded_images_decode_as_png(page):
    sources = [v for t, a, v in page.attrs if t == "img" and a == "src"]
    assert len(sources) == 5  # primary, secondary, township, matches, unmatched
    for src in sources:
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG"
        assert image.size[0] > 300 and image.size[1] > 100
        image.verify()


# escaping and personal data
def test_free_text_from_the_data_is_escaped(html, page):
    assert "<script" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # read back, the cells hold the original text
    towns = page.tables["matches-township"]
    assert towns[HOSTILE_TOWN]["township"] == HOSTILE_TOWN
    project = page.tables["matches-project"]["P1"]
    assert project["title"] == HOSTILE_TITLE
    assert project["funder"] == HOSTILE_FUNDER
    assert page.tags["img"] == 5  # no injected image


def test_title_is_escaped(households):
    html = render_report(households, title="<b>镇雄县</b> 2016")
    assert "<title>&lt;b&gt;镇雄县&lt;/b&gt; 2016</title>" in html
    assert "<b>" not in html


def test_no_personal_data_and_no_household_ids_by_default(html):
    assert PERSONAL not in html and "13800138000" not in html
    for row in ROWS:
        assert f">{row[0]}<" not in html


def test_list_unmatched_shows_only_unmatched_pseudonyms(households, matches):
    page = Page(render_report(households, matches=matches, list_unmatched=2))
    listed = page.tables["unmatched-list"]
    ids = [row["household_id"] for row in listed.values()]
    assert ids == ["H5", "H2"]  # unmatched, largest need first
    assert listed["0"]["main_cause"] == "发展意愿不强"  # FAM.LOW_DRIVE
    assert number(listed["0"]["need_amount"]) == 12000
    with pytest.raises(ValueError, match="list_unmatched"):
        render_report(households, matches=matches, list_unmatched=-1)


def test_headings_are_chinese_first_then_english(page):
    assert (
        len(page.h2) == 7
    )  # overview, causes, illness, training, MPI, matches, unmatched
    for heading in page.h2:
        assert "\u4e00" <= heading[0] <= "\u9fff", heading
        assert re.search(r"[A-Za-z]", heading), heading


# the numbers, against counts made here from ROWS
def test_headline_numbers(page, households, projects, matches):
    got = {k: number(v["value"]) for k, v in page.tables["headline"].items()}
    needs = [r[6] for r in ROWS if not np.isnan(r[6])]
    unmet = sum(
        max(r[6] - MATCHED.get(r[0], 0.0), 0.0) for r in ROWS if not np.isnan(r[6])
    )
    assert got["households"] == len(ROWS)
    assert got["people"] == sum(r[2] for r in ROWS)
    assert got["townships"] == len({r[1] for r in ROWS})
    assert got["villages"] == 3
    assert got["median_income_per_capita"] == 2200
    assert got["households_with_need"] == len(needs)
    assert got["total_need"] == sum(needs)
    assert got["projects"] == 3
    assert got["total_budget"] == 15000
    assert got["total_capacity"] == 7
    assert got["matched_households"] == len(MATCHED)
    assert got["unmatched_households"] == len(ROWS) - len(MATCHED)
    assert got["amount_matched"] == sum(MATCHED.values())
    assert got["unmet_need"] == unmet
    assert got["share_matched"] == pytest.approx(0.4)
    # and the same as summary
    numbers = an.summary(households, projects, matches)
    for key, value in got.items():
        assert value == pytest.approx(numbers[key], abs=0.0005), key


def test_primary_cause_shares(page, households):
    n = len(ROWS)
    any_, main = Counter(), Counter()
    for row in ROWS:
        codes = row[4].split(";")
        any_.update({c.split(".")[0] for c in codes})
        main[codes[0].split(".")[0]] += 1
    table = page.tables["shares-primary"]
    assert set(table) == set(any_)
    for code, count in any_.items():
        assert number(table[code]["households"]) == count
        assert table[code]["share"] == pct(count / n)
        assert number(table[code]["main_households"]) == main.get(code, 0)
        assert table[code]["main_share"] == pct(main.get(code, 0) / n)
    assert table["ILL"]["name_zh"] == "疾病"
    shares = an.cause_shares(households).set_index("cause")
    for code in table:
        assert table[code]["share"] == pct(shares.at[code, "share"])


def test_secondary_and_registry_tables(page):
    sec = page.tables["shares-secondary"]
    codes = Counter(c for row in ROWS for c in row[4].split(";"))
    assert {k: number(v["households"]) for k, v in sec.items()} == codes
    reg = page.tables["shares-registry"]
    assert number(reg["因病"]["households"]) == 3  # H1, H4, H5
    assert number(reg["缺劳力"]["households"]) == 1  # H1 LAB.NO_ADULT
    assert number(reg["缺技术"]["households"]) == 1  # H3 LAB.FARM_SKILL
    assert number(reg["自身发展动力不足"]["main_households"]) == 1  # H5


def test_township_shares(page):
    table = page.tables["shares-township"]
    assert set(table) == {r[1] for r in ROWS}
    for town in table:
        rows = [r for r in ROWS if r[1] == town]
        assert number(table[town]["total"]) == len(rows)
        ill = sum("ILL" in {c.split(".")[0] for c in r[4].split(";")} for r in rows)
        assert table[town]["ILL"] == pct(ill / len(rows))


def test_match_tables(page):
    towns = page.tables["matches-township"]
    for town, cells in towns.items():
        rows = [r for r in ROWS if r[1] == town]
        matched = [r for r in rows if r[0] in MATCHED]
        assert number(cells["households"]) == len(rows)
        assert number(cells["matched"]) == len(matched)
        assert cells["share_matched"] == pct(len(matched) / len(rows))
        assert number(cells["amount"]) == sum(MATCHED[r[0]] for r in matched)
    projects = page.tables["matches-project"]
    assert number(projects["P1"]["households"]) == 1
    assert projects["P1"]["capacity_used"] == pct(1 / 2)
    assert projects["P1"]["budget_used"] == pct(6000 / 10000)
    assert projects["P2"]["capacity_used"] == pct(1 / 4)
    assert number(projects["P3"]["households"]) == 0  # unused project listed
    assert projects["P3"]["budget_used"] == pct(0)


def test_unmatched_tables(page):
    left = [r for r in ROWS if r[0] not in MATCHED]
    by_cause = Counter(r[4].split(";")[0].split(".")[0] for r in left)
    table = page.tables["unmatched-cause"]
    assert {k: number(v["households"]) for k, v in table.items()} == by_cause
    assert number(table["FAM"]["need"]) == 12000  # H5
    assert number(table["ILL"]["need"]) == 0  # H4 states no amount
    towns = page.tables["unmatched-township"]
    by_town = Counter(r[1] for r in left)
    for town in {r[1] for r in ROWS}:
        assert number(towns[town]["unmatched"]) == by_town.get(town, 0)


def test_without_matches_there_is_no_match_section(households):
    page = Page(render_report(households))
    assert "matches-township" not in page.tables
    assert "unmatched-cause" not in page.tables
    assert len(page.h2) == 5  # overview, causes, illness, training, MPI
    assert not any("Match" in h for h in page.h2)
    sources = [v for t, a, v in page.attrs if t == "img" and a == "src"]
    assert len(sources) == 3


def test_matches_without_projects(households, matches):
    page = Page(render_report(households, matches=matches))
    project = page.tables["matches-project"]["P1"]
    assert set(project) == {"project_id", "households", "amount"}


def test_the_sample_county(households):
    folder = ROOT / "data" / "sample"
    if not (folder / "households.csv").is_file():
        pytest.skip(f"the sample county is not in {folder}")
    sample = pd.read_csv(folder / "households.csv")
    page = Page(render_report(sample))
    assert number(page.tables["headline"]["households"]["value"]) == len(sample)
    shares = an.cause_shares(sample, level="registry").set_index("cause")
    table = page.tables["shares-registry"]
    assert set(table) == set(shares.index)
    for option, cells in table.items():
        assert number(cells["households"]) == shares.at[option, "households"]
    assert len(page.tables["shares-township"]) == sample["township"].nunique()


def test_unknown_households_and_projects_warn_once_each(households, projects):
    stray = pd.DataFrame(
        {
            "household_id": ["H1", "H9", "H2"],
            "project_id": ["P1", "P1", "P7"],
            "amount": [100.0, 200.0, 300.0],
        }
    )
    with pytest.warns(ZfbWarning) as record:
        page = Page(render_report(households, projects=projects, matches=stray))
    messages = [str(w.message) for w in record if w.category is ZfbWarning]
    assert len(messages) == 2
    assert any("household_id" in m for m in messages)
    assert any("project_id" in m for m in messages)
    got = page.tables["headline"]
    assert number(got["matched_households"]["value"]) == 2  # H9 left out
    assert "P7" not in page.tables["matches-project"]


def test_an_empty_table_gives_a_page_without_charts(households, matches):
    page = Page(render_report(households.head(0), matches=matches.head(0)))
    assert number(page.tables["headline"]["households"]["value"]) == 0
    assert page.tags["img"] == 0
    assert page.tables["shares-primary"] == {}


def test_images_carry_their_caption_as_alt_text(page):
    alts = [v for t, a, v in page.attrs if t == "img" and a == "alt"]
    assert len(alts) == 5
    assert all(re.search(r"[\u4e00-\u9fff]", a) and re.search("[a-z]", a) for a in alts)


def test_county_sections_of_illness_training_and_mpi(tmp_path):
    from zfb.illness import illness_breakdown, training_needs
    from zfb.mpi import deprivations_from_households, mpi
    from zfb.synth import generate_county

    households = generate_county(600, 10, seed=3).households
    html = render_report(households)
    for anchor in ("illness", "training", "mpi", "mpi-indicators"):
        assert f'id="{anchor}"' in html
    ill = illness_breakdown(households, by=None)
    top = ill.iloc[0]
    row = re.search(rf'<tr data-key="{re.escape(top["cause"])}">(.*?)</tr>', html)
    assert row and f">{int(top['households']):,}<" in row.group(1)
    skills = training_needs(households, by=None)
    assert f'data-key="{skills.iloc[0]["cause"]}"' in html
    result = mpi(deprivations_from_households(households))
    m0 = re.search(r'<tr data-key="M0">(.*?)</tr>', html).group(1)
    assert f"{result.M0:.1%}" in m0.replace(" %", "%")


def test_profiles_and_representativeness_sections():
    from zfb.representativeness import representativeness
    from zfb.synth import generate_county

    households = generate_county(600, 10, seed=4).households
    counts = households["township"].value_counts()
    registry = (counts * 2 + 1).rename_axis("township")
    html = render_report(households, registry=registry)
    assert 'id="profiles"' in html and 'id="representativeness"' in html
    page = Page(html)
    profiles = page.tables["profiles"]
    total = sum(number(r["households"]) for r in profiles.values())
    assert total == len(households)
    rep = representativeness(registry, households)
    town = rep.table.index[0]
    row = page.tables["representativeness"][town]
    assert number(row["registered"]) == rep.table.loc[town, "registered"]
    assert number(row["sampled"]) == counts[town]


def test_dollar_signs_in_townships_and_funders_render_as_text():
    # matplotlib reads text between two $ as mathtext: a township named with
    # dollars once stopped the report with a parse error, and $x^2$ drew a
    # formula instead of the name
    from zfb.synth import generate_county

    county = generate_county(600, 10, seed=5)
    households = county.households.copy()
    towns = sorted(households["township"].unique())
    names = {towns[0]: r"$\undefinedmacro$镇", towns[1]: "$x^2$乡", towns[2]: "a$b"}
    households["township"] = households["township"].replace(names)
    counts = households["township"].value_counts()
    registry = (counts * 2 + 1).rename_axis("township")
    projects = county.projects.assign(funder=r"$\frac{a}$ 基金会")
    matches = pd.DataFrame(
        {
            "household_id": households["household_id"].iloc[:3],
            "project_id": projects["project_id"].iloc[0],
            "amount": 100.0,
            "score": 0.5,
        }
    )
    html = render_report(
        households, projects=projects, matches=matches, registry=registry
    )
    assert r"$\undefinedmacro$镇" in html and "$x^2$乡" in html
