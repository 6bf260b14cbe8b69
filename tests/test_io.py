"""Tests of reading and validating household and project files."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfb import ConfigError, InputError, SheetWarning, ValidationError
from zfb.io import (
    read_households,
    read_projects,
    read_table,
    validate_households,
    validate_matches,
    validate_projects,
    write_table,
)

from .conftest import make_id_number

HEADER_ZH = (
    "户编号,乡镇,村,户主姓名,联系电话,家庭人口数,人均纯收入,主要致贫原因,其他致贫原因"
)
ROWS_ZH = [
    "ZX1,泼机镇,一村,张三,13800000000,4,2300,因病,缺技术、尿毒症",
    "ZX2,南台街道,二村,李四,13900000000,3,1800,因学,",
]


def write(path, lines, encoding="utf-8"):
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_registry_export_in_every_common_encoding(tmp_path, encoding):
    path = write(tmp_path / "hh.csv", [HEADER_ZH, *ROWS_ZH], encoding)
    table = read_households(path)
    assert table["household_id"].tolist() == ["ZX1", "ZX2"]
    assert table["township"].tolist() == ["泼机镇", "南台街道"]
    # main cause first; 因病 beside 尿毒症 is 尿毒症
    assert table["causes"].tolist() == ["ILL.UREMIA;LAB", "EDU"]
    assert table["size"].dtype == "int64"
    assert table["income_per_capita"].tolist() == [2300.0, 1800.0]


def test_personal_columns_never_reach_the_table(tmp_path):
    path = write(tmp_path / "hh.csv", [HEADER_ZH, *ROWS_ZH])
    table = read_households(path)
    text = table.to_csv()
    for personal in ("张三", "李四", "13800000000", "13900000000"):
        assert personal not in text
    assert not {"name", "phone", "户主姓名", "联系电话"} & set(table.columns)


def test_undecodable_file_says_so(tmp_path):
    path = tmp_path / "hh.csv"
    path.write_bytes(b"household_id,township\n\xff\xfe\xfa\x80,x\n" + b"\x81" * 3)
    with pytest.raises(InputError, match="UTF-8"):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "empty"),
        ("old.xls", b"x", ".xls"),
        ("data.json", b"{}", "unknown file type"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_xlsx_with_chinese_headers(tmp_path):
    df = pd.DataFrame(
        {
            "户编号": ["A1", "A2"],
            "乡镇": ["泼机镇", "泼机镇"],
            "家庭人口数": [4, 2],
            "人均纯收入": [2100.5, 3000],
            "致贫原因": ["因病;危房", "缺资金"],
            "需求金额": [5000, None],
        }
    )
    path = tmp_path / "hh.xlsx"
    df.to_excel(path, index=False)
    table = read_households(path)
    assert table["size"].tolist() == [4, 2]
    assert table["causes"].tolist() == ["ILL;RES.UNSAFE_HOUSE", "CAP"]
    assert table["need_amount"].iloc[0] == 5000
    assert pd.isna(table["need_amount"].iloc[1])


def test_every_problem_is_reported_at_once(tmp_path):
    lines = [
        "household_id,township,size,income_per_capita,causes,unsafe_housing",
        "H1,泼机镇,4,2000,因病,是",
        "H2,,0,abc,糖尿,maybe",  # four problems
        "H1,泼机镇,2.5,-3,,",  # duplicate id, fraction, negative, no cause
    ]
    path = write(tmp_path / "bad.csv", lines)
    with pytest.raises(ValidationError) as info:
        read_households(path)
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {
        (3, "township"),
        (3, "size"),
        (3, "income_per_capita"),
        (3, "causes"),
        (3, "unsafe_housing"),
        (4, "household_id"),
        (4, "size"),
        (4, "income_per_capita"),
        (4, "causes"),
    }
    for p in info.value.problems:
        assert p.file == str(path)
        assert p.rule
    by_cell = {(p.row, p.column): p for p in info.value.problems}
    assert "ILL.DIABETES" in by_cell[(3, "causes")].rule  # a suggestion
    assert "row 2" in by_cell[(4, "household_id")].rule
    assert by_cell[(3, "size")].value == "0"


def test_missing_required_columns_are_named():
    df = pd.DataFrame({"household_id": ["a"], "township": ["x"]})
    with pytest.raises(ValidationError) as info:
        validate_households(df)
    missing = {p.column for p in info.value.problems if p.row is None}
    assert missing == {"size", "income_per_capita", "causes"}


def test_two_headers_for_one_column_is_an_error():
    df = pd.DataFrame(
        {
            "household_id": ["a"],
            "户编号": ["b"],
            "township": ["x"],
            "size": ["1"],
            "income_per_capita": ["1"],
            "causes": ["ILL"],
        }
    )
    with pytest.raises(ValidationError, match="same as column 'household_id'"):
        validate_households(df)


PRIMARY_OF = {"因病": "ILL", "尿毒症": "ILL", "EDU.COLLEGE": "EDU", "危房": "RES"}


@given(
    st.lists(st.sampled_from(sorted(PRIMARY_OF)), min_size=1, max_size=6),
    st.lists(st.sampled_from([";", "；", "、", ",", "，", " ; "]), min_size=6),
)
def test_every_separator_splits_causes(labels, seps):
    cell = labels[0]
    for label, sep in zip(labels[1:], seps, strict=False):
        cell += sep + label
    df = pd.DataFrame(
        {
            "household_id": ["a"],
            "township": ["x"],
            "size": ["2"],
            "income_per_capita": ["100"],
            "causes": [cell],
        }
    )
    codes = validate_households(df)["causes"].iloc[0].split(";")
    assert len(codes) == len(set(codes))
    assert codes[0].split(".")[0] == PRIMARY_OF[labels[0]]
    assert {c.split(".")[0] for c in codes} == {PRIMARY_OF[x] for x in labels}


def _id_table(numbers):
    return pd.DataFrame(
        {
            "身份证号": numbers,
            "乡镇": ["泼机镇"] * len(numbers),
            "人口数": ["3"] * len(numbers),
            "人均收入": ["2000"] * len(numbers),
            "致贫原因": ["因病"] * len(numbers),
        }
    )


def test_id_numbers_become_keyed_pseudonyms(secret):
    numbers = [
        make_id_number("530627", "19800101", "123"),
        make_id_number("530627", "19751231", "045"),
    ]
    table = validate_households(_id_table(numbers))
    assert "id_number" not in table.columns
    ids = table["household_id"].tolist()
    assert len(set(ids)) == 2 and all(i.startswith("P") for i in ids)
    text = table.to_csv()
    for n in numbers:
        assert n not in text and n[:14] not in text
    again = validate_households(_id_table(numbers))
    assert again["household_id"].tolist() == ids
    other = validate_households(_id_table(numbers), secret="another-key-of-16+chars")
    assert other["household_id"].tolist() != ids


def test_bad_id_numbers_are_masked_in_errors(secret):
    good = make_id_number("530627", "19800101", "123")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValidationError) as info:
        validate_households(_id_table([bad, "5.30627198001011e+17"]))
    problems = info.value.problems
    assert [p.row for p in problems] == [2, 3]
    assert "check character" in problems[0].rule
    assert "stored as a number" in problems[1].rule
    assert bad not in str(info.value) and bad[:10] not in str(info.value)


def test_id_numbers_without_a_key_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.delenv("ZFB_SECRET", raising=False)
    monkeypatch.setenv("ZFB_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="ZFB_SECRET"):
        validate_households(_id_table([make_id_number("530627", "19800101", "001")]))


def test_townships_checked_against_a_list():
    df = pd.DataFrame(
        {
            "household_id": ["a", "b"],
            "township": ["泼机镇", "Springfield"],
            "size": ["2", "3"],
            "income_per_capita": ["100", "200"],
            "causes": ["ILL", "EDU"],
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_households(df, townships=["泼机镇", "南台街道"])
    (problem,) = info.value.problems
    assert (problem.row, problem.value) == (3, "Springfield")


PROJECTS = [
    "项目编号,帮扶方,项目名称,资助方向,预算,名额,覆盖乡镇,每户上限,模式",
    "P1,春蕾基金会,助学,因学、tuition,100000,20,全县,5000,单户;众筹",
    'P2,某公司,医疗,ILL.UREMIA;大病,"50,000",5,泼机镇，南台街道,,',
]


def test_projects_with_chinese_headers(tmp_path):
    table = read_projects(write(tmp_path / "p.csv", PROJECTS))
    assert table["tags"].tolist() == ["EDU;tuition", "ILL.UREMIA;ILL.SERIOUS_OTHER"]
    assert table["townships"].tolist() == ["*", "泼机镇;南台街道"]
    assert table["modes"].tolist() == ["single;crowdfunding", "single"]
    assert table["budget"].tolist() == [100000.0, 50000.0]
    assert table["capacity"].dtype == "int64"
    assert pd.isna(table["per_household_cap"].iloc[1])


def test_bad_projects_report_every_problem():
    df = pd.DataFrame(
        {
            "project_id": ["P1", "P1", "P3"],
            "funder": ["f", "", "f"],
            "tags": ["ILL", "nonsense-tag", "EDU"],
            "budget": ["0", "100", "x"],
            "capacity": ["0", "2", "1"],
            "modes": ["single", "lottery", ""],
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_projects(df, source="projects.csv")
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {
        (2, "budget"),
        (2, "capacity"),
        (3, "project_id"),
        (3, "funder"),
        (3, "tags"),
        (3, "modes"),
        (4, "budget"),
    }


def test_write_table_is_atomic(tmp_path):
    path = tmp_path / "out.csv"
    write_table(pd.DataFrame({"a": [1]}), path)

    class Boom:
        def to_csv(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_table(Boom(), path)
    assert path.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# several sheets in one workbook
def _workbook(path, sheets):
    """Write ``sheets`` (name -> DataFrame, or None for an empty sheet)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in sheets.items():
            (df if df is not None else pd.DataFrame()).to_excel(
                writer, sheet_name=name, index=False
            )
    return path


HOUSEHOLDS_DF = pd.DataFrame(
    {
        "household_id": ["A1", "A2"],
        "township": ["泼机镇", "泼机镇"],
        "size": [4, 2],
        "income_per_capita": [2100, 3000],
        "causes": ["因病", "缺资金"],
    }
)
NOTES_DF = pd.DataFrame({"说明": ["填表说明：每户一行"]})


def test_several_sheets_read_the_first_but_warn_naming_the_others(tmp_path):
    # regression: only the first sheet was read, silently
    path = _workbook(
        tmp_path / "county.xlsx",
        {"户表": HOUSEHOLDS_DF, "说明": NOTES_DF, "空白": None},
    )
    with pytest.warns(SheetWarning) as caught:
        table = read_households(path)
    assert table["household_id"].tolist() == HOUSEHOLDS_DF["household_id"].tolist()
    (warning,) = caught
    text = str(warning.message)
    assert "'户表'" in text and "'说明'" in text and "sheet=" in text
    assert "'空白'" not in text  # an empty sheet is not worth a warning


@pytest.mark.parametrize("sheet", ["户表", 1, "1"])
def test_a_sheet_is_chosen_by_name_or_position(tmp_path, sheet, recwarn):
    path = _workbook(
        tmp_path / "county.xlsx", {"说明": NOTES_DF, "户表": HOUSEHOLDS_DF}
    )
    table = read_households(path, sheet=sheet)
    assert table["size"].tolist() == HOUSEHOLDS_DF["size"].tolist()
    assert not [w for w in recwarn if issubclass(w.category, SheetWarning)]
    assert read_table(path, sheet=0).columns.tolist() == ["说明"]


@pytest.mark.parametrize("sheet", ["户口", 5])
def test_an_unknown_sheet_lists_the_sheets(tmp_path, sheet):
    path = _workbook(
        tmp_path / "county.xlsx", {"说明": NOTES_DF, "户表": HOUSEHOLDS_DF}
    )
    with pytest.raises(InputError, match="'说明', '户表'"):
        read_table(path, sheet=sheet)


def test_an_empty_first_sheet_names_the_sheets_with_data(tmp_path):
    path = _workbook(tmp_path / "county.xlsx", {"封面": None, "户表": HOUSEHOLDS_DF})
    with pytest.raises(InputError, match="empty.*'户表'"):
        read_table(path)


def test_a_csv_file_has_no_sheet(tmp_path):
    path = write(tmp_path / "hh.csv", [HEADER_ZH, *ROWS_ZH])
    with pytest.raises(InputError, match="no sheets"):
        read_households(path, sheet="户表")


# repeated headers
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_written_twice_is_a_problem_not_a_rename(tmp_path, suffix):
    # regression: `size,size` became `size` and `size.1` without a word
    header = ["household_id", "township", "size", "income_per_capita", "size"]
    header += ["causes"]
    rows = [
        ["a", "泼机镇", "3", "2000", "4", "因病"],
        ["b", "泼机镇", "0", "x", "2", "?"],
    ]
    path = tmp_path / f"hh{suffix}"
    if suffix == ".csv":
        write(path, [",".join(r) for r in [header, *rows]])
    else:
        _workbook(path, {"Sheet1": pd.DataFrame(rows, columns=header)})
    with pytest.raises(ValidationError) as info:
        read_households(path)
    problems = info.value.problems
    (repeated,) = [p for p in problems if "appears twice" in p.rule]
    assert repeated.column == "size" and repeated.row == 1
    assert "columns 3 (C) and 5 (E)" in repeated.rule
    # the other problems of the file are reported at the same time
    assert {(p.row, p.column) for p in problems if p is not repeated} == {
        (3, "size"),
        (3, "income_per_capita"),
        (3, "causes"),
    }
    assert not any(".1" in (p.column or "") for p in problems)
    with pytest.raises(ValidationError, match="appears twice"):
        read_table(path)
    kept = read_table(path, duplicate_headers="keep")
    assert kept.columns.tolist() == header


# rows are the rows a person sees
def test_blank_lines_do_not_shift_the_rows_of_problems(tmp_path):
    # regression: pandas drops blank lines, so problems named the wrong rows
    lines = [
        "",
        "household_id,township,size,income_per_capita,causes,notes",
        "a,泼机镇,3,2000,因病,",
        "",
        "   ",
        'b,泼机镇,0,2000,因病,"two',
        'lines"',
        "c,泼机镇,2,2000,因病,",
        "",
        "d,泼机镇,2,abc,因病,",
        "",
    ]
    path = write(tmp_path / "hh.csv", lines)
    with pytest.raises(ValidationError) as info:
        read_households(path)
    line_of = {line.split(",")[0]: n for n, line in enumerate(lines, 1) if line}
    assert {(p.row, p.column) for p in info.value.problems} == {
        (line_of["b"], "size"),
        (line_of["d"], "income_per_capita"),
    }
    raw = read_table(path)
    assert raw.attrs["header_row"] == line_of["household_id"]
    assert list(raw.attrs["source_rows"]) == [line_of[k] for k in "abcd"]


def test_blank_rows_of_a_sheet_do_not_shift_the_rows_of_problems(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["household_id", "township", "size", "income_per_capita", "causes"])
    ws.append(["a", "泼机镇", 3, 2000, "因病"])
    ws.append([])
    ws.append([])
    ws.append(["b", "泼机镇", 40, 2000, "因病"])
    path = tmp_path / "hh.xlsx"
    book.save(path)
    with pytest.raises(ValidationError) as info:
        read_households(path)
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (5, "size")  # the sheet's row 5


def test_rows_follow_the_file_through_validate_and_sorting(tmp_path):
    lines = ["household_id,township,size,income_per_capita,causes", ""]
    lines += ["a,泼机镇,3,2000,因病", "", "b,泼机镇,0,2000,因病"]
    raw = read_table(write(tmp_path / "hh.csv", lines))
    for table in (raw, raw.iloc[::-1]):
        with pytest.raises(ValidationError) as info:
            validate_households(table)
        assert [p.row for p in info.value.problems] == [5]


# files in an 8-bit encoding other than GBK
LATIN1_SURVEY = [
    "Año,Región,Peña,Niños",
    "2016,Alajuela,Muñoz,3",
    "2017,Cartago,Ibáñez,2",
]


LATIN1_HOUSEHOLDS = [
    "household_id,township,village,size,income_per_capita,causes",
    "A1,San Ramón,Peña,3,2000,ILL",
]


@pytest.mark.parametrize("lines", [LATIN1_SURVEY, LATIN1_HOUSEHOLDS])
def test_a_latin1_file_is_refused_not_read_as_gbk(tmp_path, lines):
    # regression: Latin-1 bytes decoded as GB18030 without a word
    path = write(tmp_path / "survey.csv", lines, "latin-1")
    assert path.read_bytes().decode("gb18030")  # it decodes without an error
    with pytest.raises(InputError) as info:
        read_table(path)
    message = str(info.value)
    assert "UTF-8" in message and "GB18030" in message  # the encodings tried
    assert "Latin-1" in message and "CSV UTF-8" in message  # and how to fix it


RARE_NAMES = ["堃", "镕", "喆", "玥", "昇", "珺"]  # in GBK, not in GB2312


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_files_with_rare_characters_are_read(tmp_path, encoding):
    for name in RARE_NAMES:
        with pytest.raises(UnicodeEncodeError):
            name.encode("gb2312")
    # a registry export: its headers are zfb's
    rows = [f"ZX{i},泼机镇,{n}家村A组,3,2000,因病" for i, n in enumerate(RARE_NAMES)]
    path = write(
        tmp_path / "hh.csv",
        ["户编号,乡镇,村,家庭人口数,人均纯收入,致贫原因", *rows],
        encoding,
    )
    table = read_households(path)
    assert table["village"].tolist() == [f"{n}家村A组" for n in RARE_NAMES]
    # a survey whose headers zfb does not know (read through a mapping)
    survey = ["问卷编号,受访人,所在村,访谈记录"]
    survey += [f"{i},张{n},东山村,家中两人外出务工" for i, n in enumerate(RARE_NAMES)]
    path = write(tmp_path / "survey.csv", survey, encoding)
    assert read_table(path)["受访人"].tolist() == [f"张{n}" for n in RARE_NAMES]


# personal numbers under headers zfb does not know
@pytest.mark.parametrize("keep_personal", [False, True])
@pytest.mark.parametrize(
    ("header", "value", "words"),
    [
        ("配偶身份证", make_id_number("530627", "19820304", "221"), "ID numbers"),
        ("户主联系人电话", "13912345678", "phone numbers"),
        ("紧急联系", "0870-5123456", "phone numbers"),
        ("备用信息", "电话 13712345678 (白天)", "phone numbers"),
    ],
)
def test_unknown_columns_with_personal_numbers_are_problems(
    tmp_path, header, value, words, keep_personal
):
    # regression: extra columns were kept, raw ID and phone numbers with them
    path = tmp_path / "hh.csv"
    df = pd.DataFrame(
        {
            "household_id": ["a", "b"],
            "township": ["泼机镇"] * 2,
            "size": ["3"] * 2,
            "income_per_capita": ["2000"] * 2,
            "causes": ["因病"] * 2,
            header: ["", value],
        }
    )
    df.to_csv(path, index=False)
    with pytest.raises(ValidationError) as info:
        read_households(path, keep_personal=keep_personal)
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (3, header)
    assert words in problem.rule and "remove it" in problem.rule
    assert value not in str(info.value) and "masked" in problem.value
    ok_path = tmp_path / "ok.csv"
    df.assign(**{header: ["无", "有"]}).to_csv(ok_path, index=False)
    assert read_households(ok_path)[header].tolist() == ["无", "有"]


@pytest.mark.parametrize("header", ["身份证", "证件号", "户主身份证", "身份证件号码"])
def test_common_id_number_headers_are_turned_into_pseudonyms(secret, header):
    number = make_id_number("530627", "19800101", "123")
    df = _id_table([number]).rename(columns={"身份证号": header})
    table = validate_households(df)
    assert table["household_id"].iloc[0].startswith("P")
    assert number not in table.to_csv()


@pytest.mark.parametrize("header", ["户主电话", "户主手机", "电话号码", "联系电话号码"])
def test_common_phone_headers_are_personal(header):
    df = _id_table(["x"]).drop(columns="身份证号")
    df = df.assign(household_id=["a"], **{header: ["13912345678"]})
    assert "phone" not in validate_households(df).columns
    kept = validate_households(df, keep_personal=True)
    assert kept["phone"].tolist() == ["13912345678"]


# rules between columns and within cells
def test_a_project_that_ends_before_it_starts_is_a_problem():
    df = pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "funder": ["f"] * 3,
            "tags": ["ILL"] * 3,
            "budget": ["100"] * 3,
            "capacity": ["1"] * 3,
            "开始日期": ["2024-05-01", "2024-05-01", ""],
            "结束日期": ["2024-04-30", "2024-05-01", "2024-01-01"],
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_projects(df)
    (problem,) = info.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "结束日期", "2024-04-30")
    assert "'2024-05-01'" in problem.rule and "'开始日期'" in problem.rule


def test_several_need_kinds_in_one_cell_is_a_problem():
    # regression: only the first need kind was kept, silently
    df = pd.DataFrame(
        {
            "household_id": ["a", "b", "c"],
            "township": ["泼机镇"] * 3,
            "size": ["3"] * 3,
            "income_per_capita": ["2000"] * 3,
            "causes": ["因病"] * 3,
            "need_kind": ["medical_costs;tuition", "medical_costs", "tuition、tuition"],
        }
    )
    with pytest.raises(ValidationError) as info:
        validate_households(df)
    (problem,) = info.value.problems
    assert problem.row == 2 and problem.value == "medical_costs;tuition"
    assert "2 need kinds (medical_costs, tuition)" in problem.rule
    table = validate_households(df.iloc[1:])
    assert table["need_kind"].tolist() == ["medical_costs", "tuition"]


# a matches file
def _matches(**columns):
    base = {
        "household_id": ["a", "b"],
        "project_id": ["P1", "P1"],
        "amount": ["1000", "2000.5"],
        "score": ["0.5", "0.25"],
        "explanation": ["x", "y"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_a_good_matches_table_is_typed():
    table = validate_matches(_matches())
    assert table.columns.tolist()[:4] == ["household_id", "project_id", "amount"] + [
        "score"
    ]
    assert table["amount"].tolist() == [1000.0, 2000.5]
    assert table["explanation"].tolist() == ["x", "y"]


def test_every_problem_of_a_matches_table_at_once():
    households = pd.DataFrame({"household_id": ["a", "b"]})
    projects = pd.DataFrame({"project_id": ["P1"]})
    df = _matches(
        household_id=["a", "a", "zz", ""],
        project_id=["P1", "P9", "P1", "P1"],
        amount=["1", "inf", "-3", "x"],
        score=["0.5", "0.1", "nan?", "1e999"],
        explanation=[""] * 4,
    )
    with pytest.raises(ValidationError) as info:
        validate_matches(df, households=households, projects=projects)
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {
        (3, "household_id"),  # a second match of household a
        (3, "project_id"),  # P9 is not a project
        (3, "amount"),
        (4, "household_id"),  # zz is not a household
        (4, "amount"),
        (4, "score"),
        (5, "household_id"),  # empty
        (5, "amount"),
        (5, "score"),
    }
    # a score is checked when given; a hand-made file may leave it out
    no_score = validate_matches(_matches().drop(columns=["score"]))
    assert "score" not in no_score.columns
    with pytest.raises(ValidationError) as info:
        validate_matches(_matches().drop(columns=["amount"]))
    assert [(p.row, p.column) for p in info.value.problems] == [(None, "amount")]


def test_crowdfunding_matches_may_repeat_a_household_but_not_a_pair():
    df = _matches(household_id=["a", "a"], project_id=["P1", "P2"], share=["1", "1"])
    assert len(validate_matches(df)) == 2
    with pytest.raises(ValidationError, match="one match"):
        validate_matches(df, mode="single")
    twice = df.assign(project_id=["P1", "P1"])
    with pytest.raises(ValidationError, match="same project twice"):
        validate_matches(twice)


def test_a_value_past_the_last_column_is_a_problem_not_lost(tmp_path):
    # pandas drops fields past the header without a word; zfb names each row
    path = tmp_path / "households.csv"
    path.write_text(
        "household_id,township\n"
        "H1,泼机镇,extra\n"
        "H2,泼机镇\n"
        "\n"
        "H3,泼机镇,,\n"  # empty fields past the header: a trailing comma
        "H4,泼机镇,13812345678\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        read_table(path)
    problems = info.value.problems
    assert [p.row for p in problems] == [2, 6]
    assert all(p.file == str(path) for p in problems)
    assert problems[0].value == "extra" and "column 3" in problems[0].column
    assert "13812345678" not in str(info.value)  # a phone number is masked


def test_trailing_commas_on_every_row_are_harmless(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2,\n3,4,\n", encoding="utf-8")
    table = read_table(path)
    assert table.columns.tolist()[:2] == ["a", "b"]
    assert table["b"].tolist() == ["2", "4"]


TITLED = [
    ["镇雄县建档立卡贫困户信息表", "", "", "", ""],
    ["单位：元", "", "", "", ""],
    ["", "", "", "", ""],
    ["户编号", "乡镇", "家庭人口数", "人均纯收入", "致贫原因"],
    ["ZX1", "泼机镇", "3", "2000", "因病"],
    ["ZX2", "泼机镇", "x", "2000", "因病"],
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_title_rows_above_the_header_are_left_out(tmp_path, suffix):
    # a registry export often starts with a title and a unit line
    path = tmp_path / f"registry{suffix}"
    frame = pd.DataFrame(TITLED)
    if suffix == ".csv":
        frame.to_csv(path, index=False, header=False)
    else:
        frame.to_excel(path, index=False, header=False)
    table = read_table(path)
    assert table.columns.tolist()[:5] == TITLED[3]
    assert table.attrs["header_row"] == 4
    assert list(table.attrs["source_rows"]) == [5, 6]
    with pytest.raises(ValidationError) as info:
        read_households(path)
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [
        (6, "家庭人口数", "x")
    ]


@pytest.mark.parametrize(
    "rows",
    [
        [["name"], ["泼机镇"], ["黑树镇"]],  # a one-column table keeps its header
        [["a", "b"], ["1", "2"]],  # a header of two columns
    ],
)
def test_a_header_is_not_taken_for_a_title(tmp_path, rows):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    assert read_table(path).columns[0] == rows[0][0]


def test_a_title_over_two_columns_is_read_as_the_header(tmp_path):
    # two values are too few to tell a header from data: the first line stays
    # the header, and the values past it are problems, not lost
    path = tmp_path / "t.csv"
    path.write_text("only a title\na,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="past the header"):
        read_table(path)


def test_replacing_gives_each_writer_its_own_temporary_file(tmp_path):
    # the report used one fixed temporary name: two writers could mix
    from concurrent.futures import ThreadPoolExecutor

    from zfb.io import replacing

    target = tmp_path / "report.html"
    target.write_text("before")

    def write(k):
        with replacing(target) as tmp:
            assert tmp.parent == tmp_path and tmp != target
            tmp.write_text(f"<html>{k}" * 20_000 + "</html>")
        return tmp

    with ThreadPoolExecutor(4) as pool:
        temps = list(pool.map(write, range(8)))
    assert len(set(temps)) == 8
    text = target.read_text()
    k = text[6 : text.index("<", 1)]
    assert text == f"<html>{k}" * 20_000 + "</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_line_break_in_a_cell_separates_causes(tmp_path):
    # Alt+Enter in an Excel cell: two causes on two lines of one cell
    path = tmp_path / "households.csv"
    path.write_text(
        "household_id,township,size,income_per_capita,causes\n"
        'H1,泼机镇,3,2000,"因病\n因学"\n',
        encoding="utf-8",
    )
    causes = read_households(path)["causes"].iloc[0].split(";")
    assert len(causes) == 2 and causes[0].startswith("ILL")
    assert causes[1].startswith("EDU")
