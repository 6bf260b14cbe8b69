"""A scan: no national ID number, phone number or head's name appears in any
log, error, export, report or command output made from a store that holds
them."""

from __future__ import annotations

import argparse
import io
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from tests.test_store_support import people_table, write_county
from zfb.errors import ZfbError
from zfb.store import (
    TABLES,
    AccessError,
    ConflictError,
    Role,
    accept_match,
    export_table,
    import_file,
    research_export,
    set_match_status,
    update_household,
    view,
)
from zfb.store.commands import add_commands, load_households, load_projects
from zfb.store.models import audit_log

# fixtures
store_url = support.store_url
store = support.store

ROLES = {
    "funder": Role.funder_of(),
    "analyst": Role.analyst(),
    "administrator": Role.administrator(),
}


def _file_text(path: Path) -> str:
    """Everything a file says: its bytes decoded, and for XLSX and Parquet
    the cells as well."""
    data = path.read_bytes()
    parts = [data.decode("utf-8", errors="replace")]
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            parts += [z.read(n).decode("utf-8", errors="replace") for n in z.namelist()]
    if path.suffix == ".parquet":
        parts.append(pd.read_parquet(path).astype(str).to_csv())
    return "\n".join(parts)


def _run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="zfb")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(out), redirect_stderr(out):
        try:
            code = args.func(args)
        except ZfbError as exc:
            print(f"zfb {args.command}: error: {exc}")
            code = 2
    return code, out.getvalue()


def test_nothing_personal_leaves_the_store(store, store_url, tmp_path, caplog, secret):
    caplog.set_level(logging.DEBUG)
    raw = people_table(80, seed=31)
    names, phones, numbers = (
        list(raw["户主姓名"]),
        list(raw["联系电话"]),
        list(raw["身份证号"]),
    )
    people = tmp_path / "people.csv"
    raw.to_csv(people, index=False)
    _, projects_csv = write_county(tmp_path / "county", 10, seed=31, n_projects=10)
    outputs: list[str] = []

    # imports, an update of names and phones, a refused file, a conflict
    import_file(store, people, actor="intake")
    import_file(store, projects_csv, actor="intake")
    changed = raw.copy()
    changed.loc[:9, "户主姓名"] = [n[::-1] for n in changed.loc[:9, "户主姓名"]]
    changed.loc[:9, "联系电话"] = [
        p[:3] + p[:2:-1] for p in changed.loc[:9, "联系电话"]
    ]
    names += list(changed["户主姓名"])
    phones += list(changed["联系电话"])
    changed.to_csv(tmp_path / "people-v2.csv", index=False)
    outputs.append(str(import_file(store, tmp_path / "people-v2.csv", actor="intake")))
    bad = changed.copy()
    bad.loc[3, "身份证号"] = bad.loc[3, "身份证号"][:-1] + (
        "0" if bad.loc[3, "身份证号"][-1] != "0" else "1"
    )
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ZfbError) as refused:
        import_file(store, tmp_path / "bad.csv", actor="intake")
    outputs.append(str(refused.value))
    admin = view(store, "households", Role.administrator())
    key, version = admin["household_id"].iloc[0], int(admin["version"].iloc[0])
    update_household(
        store,
        key,
        {"name": "逯琭瑭", "phone": "13912345678"},
        version=version,
        actor="cadre",
    )
    names.append("逯琭瑭")
    phones.append("13912345678")
    with pytest.raises(ConflictError) as lost:
        update_household(store, key, {"name": "逯璠琰"}, version=version, actor="cadre")
    outputs.append(str(lost.value))

    # a match accepted and declined, with notes that name the head
    pid = view(store, "projects", Role.administrator())["project_id"].iloc[0]
    mid, _ = accept_match(
        store,
        key,
        pid,
        actor="funder:1",
        values={"amount": 500.0},
        note=f"{names[0]}打电话来, {phones[0]}",
    )
    set_match_status(
        store, mid, "declined", version=1, actor="cadre:1", note=f"{names[1]}不要了"
    )

    # exports of every table for every role, in every format
    files = []
    for kind, role in ROLES.items():
        for table in TABLES:
            for suffix in (".csv", ".xlsx", ".parquet"):
                try:
                    files.append(
                        export_table(
                            store,
                            table,
                            tmp_path / "out" / f"{kind}-{table}{suffix}",
                            role=role,
                        )
                    )
                except AccessError as exc:
                    outputs.append(str(exc))
    cadre = Role.cadre([tuple(admin.loc[0, ["township", "village"]])])
    files.append(
        export_table(store, "households", tmp_path / "out" / "cadre.csv", role=cadre)
    )
    result = research_export(store, tmp_path / "out" / "research.csv", k=2)
    outputs.append(str(result))
    files.append(result.path)

    # the commands
    url = store_url
    for argv in (
        ["import", str(people), "--db", url, "--actor", "cli"],
        ["import", str(tmp_path / "bad.csv"), "--db", url],
        ["export", "households", "--out", str(tmp_path / "cli.csv"), "--db", url],
        [
            "export",
            "research",
            "--out",
            str(tmp_path / "cli-r.csv"),
            "--db",
            url,
            "--k",
            "2",
        ],
        [
            "export",
            "audit_log",
            "--out",
            str(tmp_path / "cli-a.csv"),
            "--db",
            url,
            "--role",
            "analyst",
        ],
    ):
        code, text = _run(argv)
        outputs.append(text)
    files += [tmp_path / "cli.csv", tmp_path / "cli-r.csv"]

    # the audit log itself
    with store.read() as conn:
        log = pd.DataFrame(conn.execute(sa.select(audit_log)).mappings().all())
    outputs.append(log.astype(str).to_csv())
    outputs.append(caplog.text)
    outputs += [_file_text(f) for f in files]

    everything = "\n".join(outputs)
    assert len(files) > 40 and "households" in everything
    leaked = [v for v in set(names) | set(phones) | set(numbers) if v in everything]
    assert leaked == []


def test_a_report_from_a_table_with_names_shows_none(tmp_path, secret, caplog):
    from zfb.matching import match_single
    from zfb.report import write_report
    from zfb.store import open_store

    caplog.set_level(logging.DEBUG)
    raw = people_table(80, seed=33)
    raw.to_csv(tmp_path / "people.csv", index=False)
    _, projects_csv = write_county(tmp_path / "county", 10, seed=33, n_projects=10)
    url = f"sqlite:///{tmp_path / 'zfb.sqlite'}"
    with open_store(url) as s:
        import_file(s, tmp_path / "people.csv", actor="intake")
        import_file(s, projects_csv, actor="intake")
        full = view(s, "households", Role.administrator()).drop(columns="version")
    households, projects = load_households(url), load_projects(url)
    assert not {"name", "phone", "notes"} & set(households.columns)
    assert full["name"].notna().all()
    matches = match_single(households, projects).matches
    path = write_report(
        full,
        tmp_path / "report.html",
        projects=projects,
        matches=matches,
        list_unmatched=30,
    )
    text = path.read_text(encoding="utf-8") + caplog.text
    assert "<html" in text
    personal = set(raw["户主姓名"]) | set(raw["联系电话"]) | set(raw["身份证号"])
    assert [v for v in personal if v in text] == []


def test_id_numbers_are_never_stored(tmp_path, secret):
    from zfb.store import open_store

    raw = people_table(40, seed=32)
    raw.to_csv(tmp_path / "people.csv", index=False)
    path = tmp_path / "zfb.sqlite"
    with open_store(path) as s:
        import_file(s, tmp_path / "people.csv", actor="intake")
        with s.read() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)") is not None
    data = b"".join(p.read_bytes() for p in tmp_path.glob("zfb.sqlite*"))
    assert raw["户主姓名"].iloc[0].encode() in data  # names are kept, for cadres
    for number in raw["身份证号"]:
        assert number.encode() not in data
