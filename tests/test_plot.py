"""Tests of the charts (zfb.plot): Chinese glyphs found, bars and labels right."""

from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from zfb import ConfigError, plot
from zfb import analysis as an


@pytest.fixture
def households() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["H1", "H2", "H3", "H4", "H5"],
            "township": ["泼机镇", "泼机镇", "芒部镇", "芒部镇", "芒部镇"],
            "causes": [
                "ILL.CANCER;LAB.NO_ADULT",
                "EDU.COLLEGE;ILL.HEART",
                "ILL.STROKE",
                "RES.NO_ROAD;FAM.WEDDING",
                "LAB.FARM_SKILL",
            ],
            "need_amount": [8000.0, 5000.0, np.nan, 1000.0, 300.0],
        }
    )


@pytest.fixture
def matches() -> pd.DataFrame:
    return pd.DataFrame(
        {"household_id": ["H1", "H3"], "project_id": ["P1", "P1"], "amount": [1.0, 2.0]}
    )


def new_axes() -> Axes:
    fig = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def render(ax: Axes) -> None:
    """Draw the figure to Agg; a missing glyph raises (warnings as errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax.figure.canvas.draw()


def cjk(text: str) -> str:
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


def all_texts(ax: Axes) -> list:
    texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.texts]
    texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
    legend = ax.get_legend()
    if legend is not None:
        texts += legend.get_texts()
    return texts


def assert_glyphs_found(ax: Axes) -> int:
    """Every Chinese character of every text has a glyph in the font used.

    Returns the number of texts with Chinese characters that were checked.
    """
    checked = 0
    for text in all_texts(ax):
        chars = cjk(text.get_text())
        if not chars:
            continue
        path = font_manager.findfont(
            text.get_fontproperties(), fallback_to_default=False
        )
        font = FT2Font(path)
        missing = [ch for ch in chars if font.get_char_index(ord(ch)) == 0]
        assert not missing, (text.get_text(), path, missing)
        checked += 1
    return checked


# the font
def test_use_cjk_font_registers_a_font_with_chinese_glyphs():
    family = plot.use_cjk_font()
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    font = FT2Font(path)
    for ch in "镇雄县致贫原因户":
        assert font.get_char_index(ord(ch)) != 0
    assert plot.use_cjk_font() == family  # cached, same answer


def test_the_check_detects_a_font_without_chinese_glyphs():
    # the method of the tests below: the default font lacks the glyphs, and
    # drawing Chinese with it warns
    ax = new_axes()
    ax.set_title("镇", fontfamily="DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        ax.figure.canvas.draw()
    path = font_manager.findfont(ax.title.get_fontproperties())
    assert FT2Font(path).get_char_index(ord("镇")) == 0


def test_importing_the_module_changes_no_rc_setting():
    code = (
        "import matplotlib as mpl\n"
        "before = dict(mpl.rcParams)\n"
        "import zfb.plot\n"
        "after = dict(mpl.rcParams)\n"
        "print([k for k in before if before[k] != after[k]])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_chart_functions_leave_rc_settings_as_they_were(households, matches):
    before = dict(matplotlib.rcParams)
    plot.plot_cause_shares(an.cause_shares(households), ax=new_axes())
    plot.plot_cause_shares_by_township(
        an.cause_shares(households, by="township"), ax=new_axes()
    )
    plot.plot_matches_by_township(
        an.matches_by_township(households, matches), ax=new_axes()
    )
    after = dict(matplotlib.rcParams)
    assert [k for k in before if before[k] != after[k]] == []


# cause shares
@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_plot_cause_shares_bars_and_labels(households, lang):
    shares = an.cause_shares(households)
    ax = plot.plot_cause_shares(shares, lang=lang, ax=new_axes())
    render(ax)
    bars = ax.containers[0]
    # hand count: ILL 3 of 5, LAB 2, EDU 1, RES 1, FAM 1
    assert [b.get_width() for b in bars] == pytest.approx([0.6, 0.4, 0.2, 0.2, 0.2])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    zh = ["疾病", "劳动力与技能", "就学负担", "生产生活条件", "家庭与发展动力"]
    en = ["illness", "labour and skills", "schooling costs"]
    if lang == "zh":
        assert labels == zh
    elif lang == "en":
        assert labels[:3] == en
    else:
        assert [label.split(" ")[0] for label in labels] == zh
        assert labels[0] == "疾病 illness"
    assert [t.get_text() for t in ax.texts][:2] == ["60.0%", "40.0%"]
    assert cjk(ax.get_xlabel()) == ("" if lang == "en" else "户数占比")
    if lang != "en":
        assert assert_glyphs_found(ax) >= len(zh) + 1


def test_plot_cause_shares_top_and_kwargs(households):
    shares = an.cause_shares(households, level="secondary")
    ax = plot.plot_cause_shares(shares, top=3, ax=new_axes(), color="green")
    assert len(ax.containers[0]) == 3
    assert matplotlib.colors.to_hex(ax.containers[0][0].get_facecolor()) == "#008000"


def test_plot_cause_shares_refuses_several_groups(households):
    with pytest.raises(ValueError, match="several groups"):
        plot.plot_cause_shares(an.cause_shares(households, by="township"))


def test_plot_cause_shares_draws_on_the_current_axes(households):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    try:
        ax = plot.plot_cause_shares(an.cause_shares(households))
        assert ax is fig.axes[0]
    finally:
        plt.close(fig)


def test_a_title_set_afterwards_finds_its_glyphs(households):
    ax = plot.plot_cause_shares(an.cause_shares(households), ax=new_axes())
    ax.set_title("镇雄县致贫原因")
    render(ax)
    assert_glyphs_found(ax)


def test_bad_lang(households):
    with pytest.raises(ValueError, match="lang"):
        plot.plot_cause_shares(an.cause_shares(households), lang="fr")


# heatmap by township
def test_heatmap_cells_are_the_shares(households):
    shares = an.cause_shares(households, by="township")
    ax = plot.plot_cause_shares_by_township(shares, ax=new_axes())
    render(ax)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert sorted(rows) == ["泼机镇", "芒部镇"]
    cells = np.asarray(ax.collections[0].get_array()).reshape(len(rows), len(cols))
    # hand count: 泼机镇 has 2 households, 芒部镇 3
    expected = {
        ("泼机镇", "疾病"): 1.0,
        ("泼机镇", "劳动力与技能"): 0.5,
        ("泼机镇", "就学负担"): 0.5,
        ("芒部镇", "疾病"): 1 / 3,
        ("芒部镇", "劳动力与技能"): 1 / 3,
        ("芒部镇", "生产生活条件"): 1 / 3,
        ("芒部镇", "家庭与发展动力"): 1 / 3,
    }
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            assert cells[i, j] == pytest.approx(expected.get((r, c), 0.0)), (r, c)
    assert cols[:2] == ["疾病", "劳动力与技能"]  # most households first
    assert assert_glyphs_found(ax) >= len(rows) + len(cols)
    colorbar = ax.collections[0].colorbar
    for t in colorbar.ax.get_yticklabels():
        assert "%" in t.get_text() or t.get_text() == ""


def test_heatmap_both_languages_and_top(households):
    shares = an.cause_shares(households, by="township")
    ax = plot.plot_cause_shares_by_township(
        shares, lang="both", top=2, annot=False, ax=new_axes()
    )
    render(ax)
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert cols == ["疾病\nillness", "劳动力与技能\nlabour and skills"]
    assert len(ax.texts) == 0
    assert_glyphs_found(ax)


def test_heatmap_needs_one_group_column(households):
    with pytest.raises(ValueError, match="exactly one"):
        plot.plot_cause_shares_by_township(an.cause_shares(households))


# matches by township
def test_plot_matches_by_township(households, matches):
    table = an.matches_by_township(households, matches)
    ax = plot.plot_matches_by_township(table, lang="both", ax=new_axes())
    render(ax)
    towns = [t.get_text() for t in ax.get_yticklabels()]
    assert towns == ["芒部镇", "泼机镇"]  # more households first
    assert [b.get_width() for b in ax.containers[0]] == [3, 2]
    assert [b.get_width() for b in ax.containers[1]] == [1, 1]
    assert [t.get_text() for t in ax.texts] == ["33%", "50%"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["登记户数 households", "已对接 matched"]
    assert assert_glyphs_found(ax) >= 5


def test_real_township_names_have_glyphs(real_data):
    names = pd.read_csv(real_data / "china_admin" / "zhenxiong_townships.csv")["name"]
    assert len(names) == 30
    path = font_manager.findfont(
        font_manager.FontProperties(family=plot.use_cjk_font()),
        fallback_to_default=False,
    )
    font = FT2Font(path)
    missing = {ch for name in names for ch in name if font.get_char_index(ord(ch)) == 0}
    assert not missing
    table = pd.DataFrame(
        {
            "township": names,
            "households": np.arange(30) + 10,
            "matched": np.arange(30),
            "share_matched": np.arange(30) / (np.arange(30) + 10),
        }
    )
    ax = plot.plot_matches_by_township(table, ax=new_axes())
    render(ax)
    assert assert_glyphs_found(ax) == 30 + 1 + 2  # towns, x label, legend


def test_a_font_file_without_chinese_glyphs_is_not_chosen():
    dejavu = font_manager.findfont("DejaVu Sans")
    assert not plot._has_glyphs(dejavu)
    assert not plot._has_glyphs("no-such-font.ttf")
    chosen = font_manager.findfont(
        font_manager.FontProperties(family=plot.use_cjk_font())
    )
    assert plot._has_glyphs(chosen)


def test_no_font_found_is_a_config_error(monkeypatch):
    monkeypatch.setattr(plot, "_candidate_paths", lambda: iter(()))
    with pytest.raises(ConfigError, match="pylopdf-fonts-zh-cn"):
        plot.cjk_font_path.__wrapped__()


def test_dollar_signs_in_labels_are_drawn_as_text(households, matches):
    # labels come from the data (townships, a county's own cause names):
    # matplotlib must not read them as mathtext
    from matplotlib import cbook

    towns = {"泼机镇": r"$\undefinedmacro$", "芒部镇": "$x^2$"}
    households = households.assign(township=households["township"].replace(towns))
    by_town = an.cause_shares(households, by="township")
    ax = plot.plot_cause_shares_by_township(by_town, ax=new_axes())
    render(ax)
    table = an.matches_by_township(households, matches)
    ax2 = plot.plot_matches_by_township(table, ax=new_axes())
    render(ax2)
    shares = an.cause_shares(households).assign(name_zh="$a_b$ 病")
    ax3 = plot.plot_cause_shares(shares, ax=new_axes())
    render(ax3)
    labels = [t for a in (ax, ax2, ax3) for t in all_texts(a) if "$" in t.get_text()]
    assert len(labels) >= 4
    assert not [t.get_text() for t in labels if cbook.is_math_text(t.get_text())]
