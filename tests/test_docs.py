"""The reference documentation is generated from the column specifications."""

from __future__ import annotations

from zfb.schema import column_specs, columns_markdown

from .conftest import ROOT


def test_columns_md_is_up_to_date():
    text = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
    assert text.strip() == columns_markdown().strip(), (
        "docs/columns.md is out of date: run `make docs`"
    )


def test_every_data_model_column_is_documented():
    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for table in ("households", "projects"):
        for name, spec in column_specs(table).items():
            if spec.kind in ("personal", "id_number") or name in (
                "main_cause",
                "other_causes",
            ):
                continue
            assert f"`{name}`" in text, f"{table}.{name} missing from data-model.md"
