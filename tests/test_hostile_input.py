"""Regression tests for hostile and malformed input found by trying to break zfb."""

from __future__ import annotations

import pandas as pd
import pytest

from zfb import ConfigError, ValidationError
from zfb.cli import main
from zfb.io import read_households, read_table, validate_households, write_table
from zfb.pseudonym import check_id_number, load_secret

from .conftest import make_id_number


def households(**columns):
    base = {
        "household_id": ["a"],
        "township": ["泼机镇"],
        "size": ["3"],
        "income_per_capita": ["2000"],
        "causes": ["因病"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_config_key_must_be_a_string(monkeypatch, tmp_path):
    # regression: `secret = 16` gave bytes(16), sixteen zero bytes, accepted
    monkeypatch.delenv("ZFB_SECRET", raising=False)
    conf = tmp_path / "c.toml"
    monkeypatch.setenv("ZFB_CONFIG", str(conf))
    for value in ("16", "[1, 2]", "1.5", "{a = 1}"):
        conf.write_text(f"[pseudonym]\nsecret = {value}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="string"):
            load_secret()


def test_id_number_in_household_id_is_refused_and_masked():
    number = make_id_number("530627", "19910707", "613")
    with pytest.raises(ValidationError) as info:
        validate_households(households(household_id=[number]))
    assert "national ID number" in info.value.problems[0].rule
    assert number not in str(info.value)


@pytest.mark.parametrize("column", ["size", "township", "causes"])
def test_personal_looking_values_are_masked_in_messages(column):
    number = make_id_number("530627", "19910707", "613")
    phone = "13912345678"
    for value in (number, phone):
        with pytest.raises(ValidationError) as info:
            validate_households(households(**{column: [value]}), townships=["x"])
        assert value not in str(info.value)


def test_duplicate_id_numbers_without_household_id(secret):
    # regression: KeyError 'household_id' when two rows had the same 身份证号
    number = make_id_number("530627", "19800101", "123")
    df = pd.DataFrame(
        {
            "身份证号": [number, number],
            "乡镇": ["泼机镇"] * 2,
            "人口数": ["3"] * 2,
            "人均收入": ["2000"] * 2,
            "致贫原因": ["因病"] * 2,
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_households(df)
    (problem,) = info.value.problems
    assert problem.row == 3 and "duplicate of row 2" in problem.rule
    assert number not in str(info.value)


def test_non_ascii_digits_in_an_id_number_are_refused():
    # regression: Arabic-Indic digits passed isdigit() and crashed the hash
    assert check_id_number("\u0665" + "30627197010181334") is not None


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("income_per_capita", "inf"),
        ("income_per_capita", "1e400"),
        ("need_amount", "-inf"),
        ("labour_count", "inf"),
        ("labour_count", "1e30"),
        ("size", "1e30"),
    ],
)
def test_infinite_and_huge_numbers_are_refused(column, value):
    with pytest.raises(ValidationError) as info:
        validate_households(households(**{column: [value]}))
    assert any(p.column == column for p in info.value.problems)


def test_long_cells_and_long_messages():
    long = "镇" * 1_000_000
    with pytest.raises(ValidationError) as info:
        validate_households(households(township=[long], causes=["x" * 100_000]))
    text = str(info.value)
    assert len(text) < 2_000
    assert any("longer than" in p.rule for p in info.value.problems)


def test_trailing_commas_do_not_shift_columns(tmp_path):
    path = tmp_path / "hh.csv"
    path.write_text(
        "household_id,township,size,income_per_capita,causes\na,泼机镇,3,2000,因病,\n",
        encoding="utf-8",
    )
    table = read_households(path)
    assert table.loc[0, "household_id"] == "a"
    assert table.loc[0, "size"] == 3


def test_need_columns_are_always_present():
    table = validate_households(households())
    assert {"need_kind", "need_amount"} <= set(table.columns)
    assert table["need_kind"].isna().all()


def test_written_tables_are_safe_in_a_spreadsheet(tmp_path):
    df = pd.DataFrame(
        {
            "township": ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "ok"],
            "notes": ["a\x00b", "-2+3", "\x07bell", "普通"],
            "amount": [-1.0, 2.0, 3.0, 4.0],
        }
    )
    for name in ("out.csv", "out.xlsx"):
        back = read_table(write_table(df, tmp_path / name))
        assert all(not v.startswith(("=", "+", "@", "-")) for v in back["township"])
        assert back["township"].iloc[3] == "ok"
        assert back["notes"].tolist() == ["ab", "'-2+3", "bell", "普通"]
        assert back["amount"].tolist()[0] in ("-1.0", "-1")


def test_bad_output_paths_exit_2_without_traceback(tmp_path, capsys):
    sample_h = tmp_path / "h.csv"
    sample_p = tmp_path / "p.csv"
    households().to_csv(sample_h, index=False)
    pd.DataFrame(
        {
            "project_id": ["P1"],
            "funder": ["f"],
            "tags": ["ILL"],
            "budget": ["10000"],
            "capacity": ["1"],
        }
    ).to_csv(sample_p, index=False)
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    args = ["--households", str(sample_h), "--projects", str(sample_p), "-q"]
    assert main(["match", *args, "--out", str(a_file)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["match", *args, "--out", str(a_file / "sub")]) == 2
    report = tmp_path / "new" / "deeper" / "r.html"
    assert main(["report", "--households", str(sample_h), "--out", str(report)]) == 0
    assert report.is_file()
    assert main(["validate", str(tmp_path)]) == 2
    assert main(["causes", "--causes", str(tmp_path / "missing.csv")]) == 2
    with pytest.raises(SystemExit) as info:
        main(["match", *args, "--out", str(tmp_path / "o"), "--time-limit", "-1"])
    assert info.value.code == 2


def test_a_misspelled_store_is_an_error(tmp_path, capsys):
    # regression: --db at a missing file matched an empty store and exited 0
    code = main(["match", "--db", str(tmp_path / "typo.sqlite"), "--out", "o", "-q"])
    assert code == 2
    assert "no households" in capsys.readouterr().err


def test_large_tables_are_written_by_arrow_and_read_back(tmp_path, monkeypatch):
    import zfb.io as zio

    monkeypatch.setattr(zio, "_ARROW_ROWS", 3)
    df = pd.DataFrame(
        {
            "household_id": ["a", "b", "c", "d"],
            "score": [0.1, 0.25, 1.0, 2.5],
            "note": ["=1+1", "x,y", 'say "hi"', None],
            "matched": [True, False, True, False],
        }
    )
    back = read_table(write_table(df, tmp_path / "big.csv"))
    assert back["household_id"].tolist() == ["a", "b", "c", "d"]
    assert [float(v) for v in back["score"]] == [0.1, 0.25, 1.0, 2.5]
    assert back["note"].tolist() == ["'=1+1", "x,y", 'say "hi"', ""]


def _workbook(path, header, *rows):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_id_numbers_stored_as_numbers_in_a_workbook_are_refused(tmp_path, secret):
    # Excel keeps 15 digits of a number: an ID number typed into a number cell
    # loses its last three. zfb read the cell back as 18 digits ending in
    # noise and either said the check character was wrong, or, when the noise
    # happened to pass the check, gave the household the pseudonym of another
    # number
    numbers = [make_id_number("530627", "19850101", f"{k}23") for k in range(4)]
    header = ["身份证号", "township", "size", "income_per_capita", "causes"]
    rows = [[float(n), "泼机镇", 3, 2000, "因病"] for n in numbers]
    path = _workbook(tmp_path / "hh.xlsx", header, *rows)
    with pytest.raises(ValidationError) as info:
        read_households(path)
    problems = info.value.problems
    assert [p.row for p in problems] == [2, 3, 4, 5]
    assert all("stored as a number" in p.rule for p in problems)
    for n in numbers:
        assert n[:15] not in str(info.value)
    # a 15-digit (legacy) number fits in a number cell whole, and is read
    legacy = "530627850101123"
    assert check_id_number(legacy) is None
    path = _workbook(
        tmp_path / "old.xlsx", header, [int(legacy), "泼机镇", 3, 2000, "因病"]
    )
    assert read_households(path)["household_id"].str.startswith("P").all()


def test_invisible_characters_do_not_make_two_households_of_one(tmp_path):
    # a zero-width space, a direction mark or a soft hyphen pasted from a web
    # page or a chat made "H1" and "H1\u200b" two households (and 乌峰街道 two
    # townships) that every report showed under one name
    lines = [
        "household_\u200bid,township,size,income_per_capita,causes",
        "H1,乌峰街道,3,1000,因病",
        "H1\u200b,乌峰街道\u200d,3,1000,因病\u200b",
        "\u200fH1,乌峰街道,3,1000,因病",
        "H\u00ad1,\u202e乌峰街道,3,1000,因病",
        "\ufeffH2,乌峰\u2060街道,3,1000,因病",
    ]
    path = tmp_path / "hh.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_households(path)
    problems = info.value.problems
    assert [(p.row, p.column) for p in problems] == [
        (3, "household_\u200bid"),
        (4, "household_\u200bid"),
        (5, "household_\u200bid"),
    ]
    assert all("duplicate of row 2" in p.rule for p in problems)
    lines = [
        line for line in lines if not line.startswith(("H1\u200b", "\u200f", "H\u00ad"))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_households(path)
    assert table["household_id"].tolist() == ["H1", "H2"]
    assert table["township"].unique().tolist() == ["乌峰街道"]


def test_a_hidden_first_sheet_is_not_the_one_read(tmp_path):
    # a workbook often keeps the lists of its drop-down cells in a hidden
    # sheet; zfb read that sheet, which nobody sees in Excel, and reported
    # every column of the households missing
    from openpyxl import Workbook

    book = Workbook()
    lists = book.active
    lists.title = "lists"
    lists.append(["乡镇"])
    lists.append(["泼机镇"])
    lists.sheet_state = "hidden"
    data = book.create_sheet("households")
    data.append(["household_id", "township", "size", "income_per_capita", "causes"])
    data.append(["a", "泼机镇", 3, 2000, "因病"])
    path = tmp_path / "hh.xlsx"
    book.save(path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the hidden sheet is not "another sheet"
        table = read_households(path)
    assert table["household_id"].tolist() == ["a"]
    assert read_table(path).attrs["sheet"] == "households"
    assert read_table(path, sheet="lists").attrs["sheet"] == "lists"  # on request
    assert read_table(path, sheet=0).attrs["sheet"] == "lists"  # positions: all


_HEADER = ["household_id", "乡镇", "家庭人口数", "人均纯收入", "致贫原因"]


def test_merged_headings_above_the_header_are_named_as_the_cause(tmp_path):
    # registers often carry merged headings over groups of columns above the
    # header: zfb said that every required column was missing, and not where
    # the header it looked for was (a lone title row is left out, see
    # test_io.py's test_title_rows_above_the_header_are_left_out)
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["基本情况", None, None, "收入与致贫原因", None])
    ws.merge_cells("A1:C1")
    ws.merge_cells("D1:E1")
    ws.append(_HEADER)
    ws.append(["a", "泼机镇", 3, 2000, "因病"])
    xlsx = tmp_path / "hh.xlsx"
    book.save(xlsx)
    csv = tmp_path / "hh.csv"
    lines = [
        "基本情况,,,收入与致贫原因,",
        "",
        ",".join(_HEADER),
        "a,泼机镇,3,2000,因病",
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path, row in ((xlsx, 2), (csv, 3)):
        with pytest.raises(ValidationError) as info:
            read_households(path)
        hints = [p for p in info.value.problems if "looks like the header" in p.rule]
        assert len(hints) == 1, info.value.problems
        assert hints[0].row == row
        assert "remove the rows above it" in hints[0].rule
        assert "household_id" in hints[0].rule and "乡镇" in hints[0].rule
    # a lone title over the header is left out
    title = tmp_path / "title.csv"
    title.write_text(
        "镇雄县建档立卡贫困户花名册,,,,\n" + "\n".join(lines[1:]) + "\n",
        encoding="utf-8",
    )
    assert read_households(title)["household_id"].tolist() == ["a"]


def test_a_semicolon_separated_file_is_read(tmp_path):
    # Excel saves "CSV" with semicolons where the decimal mark is a comma;
    # zfb read each line as one column and reported every column missing
    path = tmp_path / "hh.csv"
    lines = [";".join(_HEADER), "a;泼机镇;3;2000;因病;因学", "b;泼机镇;2;1500;因学"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_households(path)
    (problem,) = info.value.problems  # the row with a value past the header
    assert problem.row == 2 and "past the header" in problem.column
    lines[1] = "a;泼机镇;3;2000;因病"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_households(path)
    assert table["household_id"].tolist() == ["a", "b"]
    assert table["size"].tolist() == [3, 2]


def test_ids_that_a_spreadsheet_takes_for_formulas_are_refused(tmp_path):
    # the files zfb writes show such an id as '-H1 (so that Excel runs
    # nothing), and then it no longer matched: zfb report --matches refused
    # the matches.csv that zfb match had just written
    hh = households(household_id=["-H1"])
    with pytest.raises(ValidationError) as info:
        validate_households(hh)
    (problem,) = info.value.problems
    assert problem.column == "household_id" and "formula" in problem.rule
    from zfb.io import validate_projects

    projects = pd.DataFrame(
        {
            "project_id": ["=P1", "@P2", "+P3", "P4"],
            "funder": ["F"] * 4,
            "tags": ["ILL"] * 4,
            "budget": ["1000"] * 4,
            "capacity": ["1"] * 4,
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_projects(projects)
    assert [p.row for p in info.value.problems] == [2, 3, 4]


def test_a_folder_given_as_a_file_is_named_as_a_folder(tmp_path):
    # it was "no such file", for a folder that is there
    from zfb import InputError

    folder = tmp_path / "hh.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_table(folder)
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "missing.csv")
