"""Benchmark of the store: a county-sized import into each backend, and a
full match run read from the store.

Generates a county (46,000 households by default, ``zfb.synth``), writes it
to CSV in a temporary folder, then for SQLite (a file in that folder) and,
when ``ZFB_TEST_POSTGRES_URL`` or ``--postgres URL`` names a server, for
PostgreSQL (a database created for the run and dropped after it), times:

- the first import of households and projects (read, check, write);
- the same files imported again (nothing changes);
- an update of 10 % of the households;
- reading the canonical tables back (``load_households``/``load_projects``);
- a full single-mode match on what was read, and storing its proposals.

Run::

    python benchmarks/bench_store.py [--households 46000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from zfb.store import import_file, open_store
from zfb.store.commands import load_households, load_projects, save_match_result
from zfb.synth import generate_county, write_county


def _timed(label: str, fn, *args, **kwargs):
    clock = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - clock
    print(f"  {label:<34} {seconds:8.2f} s")
    return out, seconds


def _postgres_database(url: str) -> tuple[str, sa.Engine]:
    base = sa.make_url(url).set(drivername="postgresql+psycopg")
    name = "zfb_bench_" + secrets.token_hex(4)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), admin


def bench(url: str, households_csv: Path, projects_csv: Path, tmp: Path) -> dict:
    times = {}
    with open_store(url) as store:
        print(f"{store.dialect}:")
        summary, times["import households"] = _timed(
            "import households", import_file, store, households_csv, actor="bench"
        )
        assert summary.inserted > 0
        _, times["import projects"] = _timed(
            "import projects", import_file, store, projects_csv, actor="bench"
        )
        again, times["re-import households"] = _timed(
            "re-import households (no change)",
            import_file,
            store,
            households_csv,
            actor="bench",
        )
        assert again.changes == 0
        raw = pd.read_csv(households_csv, dtype=str, keep_default_na=False)
        rng = np.random.default_rng(0)
        rows = rng.choice(len(raw), size=len(raw) // 10, replace=False)
        income = raw.loc[rows, "income_per_capita"].astype(float) + 10
        raw.loc[rows, "income_per_capita"] = income.astype(str)
        changed = tmp / "households-changed.csv"
        raw.to_csv(changed, index=False)
        updated, times["update 10 %"] = _timed(
            "import with 10 % changed", import_file, store, changed, actor="bench"
        )
        assert updated.updated == len(rows)
    households, times["read households"] = _timed(
        "read households from the store", load_households, url
    )
    projects, times["read projects"] = _timed(
        "read projects from the store", load_projects, url
    )
    from zfb.matching import match_single

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, times["match"] = _timed(
            "match (single mode)", match_single, households, projects
        )
    counts, times["store proposals"] = _timed(
        "store the proposals", save_match_result, url, result.matches, "bench"
    )
    print(
        f"  {len(households)} households, {len(projects)} projects, "
        f"{counts['proposed']} matches proposed"
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=46000)
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("ZFB_TEST_POSTGRES_URL"),
        help="a PostgreSQL server to create a throw-away database on "
        "(default $ZFB_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        county = generate_county(args.households, args.projects, seed=args.seed)
        households_csv, projects_csv = write_county(county, tmp / "county")
        print(
            f"county: {len(county.households)} households, "
            f"{len(county.projects)} projects (seed {args.seed})"
        )
        bench(f"sqlite:///{tmp / 'zfb.sqlite'}", households_csv, projects_csv, tmp)
        if args.postgres:
            url, admin = _postgres_database(args.postgres)
            try:
                bench(url, households_csv, projects_csv, tmp)
            finally:
                name = sa.make_url(url).database
                with admin.connect() as conn:
                    conn.execute(
                        sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    )
                admin.dispose()
        else:
            print("postgresql: skipped (set ZFB_TEST_POSTGRES_URL or --postgres)")


if __name__ == "__main__":
    main()
