"""Tests of ID-number checks and keyed pseudonyms."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfb import ConfigError
from zfb.pseudonym import check_id_number, load_secret, mask, pseudonymize

from .conftest import make_id_number

KEY = b"0123456789abcdef-key"


def test_valid_number_passes():
    assert check_id_number(make_id_number("530627", "19800101", "123")) is None
    assert check_id_number(make_id_number("530627", "20100229", "001")) is not None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("53062719800101123", "18 characters"),  # 17 characters
        ("5306271980010112345", "18 characters"),  # 19 characters
        ("53062719800101A234", "17 digits"),  # letter inside
        ("530627198013011234", "birth date"),  # month 13
        ("530627202912011234", "future"),  # born in 2029
    ],
)
def test_bad_numbers_say_why(value, rule):
    assert rule in check_id_number(value, today=dt.date(2026, 12, 4))


def test_wrong_check_character():
    good = make_id_number("530627", "19800101", "123")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert "check character" in check_id_number(wrong)


def test_legacy_15_digit_number_has_the_pseudonym_of_its_18_digit_form():
    old = "530627800101123"  # 15 digits: region, YYMMDD, sequence
    new = make_id_number("530627", "19800101", "123")
    assert check_id_number(old) is None
    assert pseudonymize(old, KEY) == pseudonymize(new, KEY)


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.integers(0, 999),
)
def test_pseudonym_is_keyed_stable_and_hides_the_number(born, seq):
    number = make_id_number("530627", born.strftime("%Y%m%d"), f"{seq:03d}")
    assert check_id_number(number) is None
    p1 = pseudonymize(number, KEY)
    assert p1 == pseudonymize(number.lower(), KEY)  # x and X are one number
    assert p1 != pseudonymize(number, KEY + b"other")
    assert number not in p1 and number[-8:] not in p1
    assert len(p1) == 21 and p1.startswith("P")


def test_secret_from_environment_and_config(monkeypatch, tmp_path):
    monkeypatch.delenv("ZFB_SECRET", raising=False)
    monkeypatch.setenv("ZFB_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="ZFB_SECRET"):
        load_secret()
    conf = tmp_path / "config.toml"
    conf.write_text('[pseudonym]\nsecret = "from-the-config-file"\n', "utf-8")
    monkeypatch.setenv("ZFB_CONFIG", str(conf))
    assert load_secret() == b"from-the-config-file"
    monkeypatch.setenv("ZFB_SECRET", "from-the-environment!")
    assert load_secret() == b"from-the-environment!"
    with pytest.raises(ConfigError, match="16 characters"):
        load_secret("short")


def test_mask_keeps_nothing_but_the_length():
    assert "5306" not in mask("530627198001011234")
    assert "18" in mask("530627198001011234")
