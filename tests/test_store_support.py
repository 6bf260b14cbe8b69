"""Fixtures and synthetic files shared by the store's tests.

Every name, phone number and ID number here is made up by the tests; the ID
numbers get a valid check character from ``conftest.make_id_number``.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.conftest import make_id_number

PG_ENV = "ZFB_TEST_POSTGRES_URL"
#: Set to 1 (as CI does) to fail, not skip, when no server is given.
PG_REQUIRED_ENV = "ZFB_TEST_POSTGRES_REQUIRED"
BACKENDS = ["sqlite", "postgresql"]

# rare characters, so that a made-up name never occurs by chance in a
# township, village, cause or funder name
_SURNAMES = "璩郗亓逯"
_GIVEN = "琰玹瑀珣璠琭瑭璟玥珺"


def postgres_url() -> str:
    """The test server's URL, or skip with the reason."""
    url = os.environ.get(PG_ENV)
    if not url and os.environ.get(PG_REQUIRED_ENV) == "1":
        pytest.fail(f"{PG_REQUIRED_ENV}=1 but {PG_ENV} is not set")
    if not url:
        pytest.skip(
            f"{PG_ENV} is not set: start a server with `source <(.ci/postgres.sh "
            "start)` to run the PostgreSQL tests"
        )
    return url


def fresh_database(url: str) -> str:
    """Create an empty database on the test server; return its URL."""
    name = "zfb_t_" + secrets.token_hex(6)
    admin = sa.create_engine(
        sa.make_url(url).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        sa.make_url(url)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


def drop_database(url: str) -> None:
    parsed = sa.make_url(url)
    admin = sa.create_engine(
        parsed.set(database=sa.make_url(os.environ[PG_ENV]).database),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(
            sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        )
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """URL of an empty store: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'zfb.sqlite'}"
        return
    url = fresh_database(postgres_url())
    yield url
    drop_database(url)


@pytest.fixture
def store(store_url):
    from zfb.store import open_store

    with open_store(store_url) as s:
        yield s


def made_up_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct made-up three-character names."""
    names: set[str] = set()
    while len(names) < n:
        names.add(
            rng.choice(list(_SURNAMES)) + "".join(rng.choice(list(_GIVEN), size=2))
        )
    return sorted(names)


def people_table(n: int, seed: int) -> pd.DataFrame:
    """A raw households table (Chinese headers) with names, phones and IDs."""
    return _people_table(n, seed).copy()


@functools.lru_cache(maxsize=8)
def _people_table(n: int, seed: int) -> pd.DataFrame:
    from zfb.synth import generate_county

    rng = np.random.default_rng(seed)
    county = generate_county(n, 3, seed=seed).households
    ids = set()
    while len(ids) < n:
        year, month, day = rng.integers(1940, 2000), rng.integers(1, 13), 1
        birth = f"{year}{month:02d}{day + rng.integers(0, 28):02d}"
        ids.add(make_id_number("530627", birth, f"{rng.integers(0, 1000):03d}"))
    phones = [f"139{rng.integers(0, 10**8):08d}" for _ in range(n)]
    return pd.DataFrame(
        {
            "身份证号": sorted(ids),
            "户主姓名": made_up_names(n, rng),
            "联系电话": phones,
            "乡镇": county["township"],
            "村": county["village"],
            "家庭人口数": county["size"].astype(str),
            "人均纯收入": county["income_per_capita"].round(2).astype(str),
            "致贫原因": county["causes"],
            "需求类型": county["need_kind"].fillna(""),
            "需求金额": county["need_amount"]
            .round(0)
            .astype("Int64")
            .astype(str)
            .replace("<NA>", ""),
            "备注": [f"户主{nm}的家" for nm in made_up_names(n, rng)],
        }
    )


def write_county(
    tmp: Path, n: int, seed: int, n_projects: int = 8
) -> tuple[Path, Path]:
    """Write a synthetic county's households.csv and projects.csv."""
    from zfb.synth import generate_county
    from zfb.synth import write_county as write

    return write(generate_county(n, n_projects, seed=seed), tmp)
