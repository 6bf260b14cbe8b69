"""Tests of reading and validating household and project files."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfb import ConfigError, InputError, ValidationError
from zfb.io import (
    read_households,
    read_projects,
    read_table,
    validate_households,
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
