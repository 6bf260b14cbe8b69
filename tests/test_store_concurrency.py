"""Several writers at once: no lost update, a clear error to the loser, and
imports that are all or nothing even when the process is killed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from tests.test_store_support import write_county
from zfb.store import (
    ConflictError,
    Role,
    add_pledge,
    import_file,
    open_store,
    update_household,
    update_need,
    view,
)
from zfb.store.models import audit_log, households, needs, pledges

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Role.administrator()

# fixtures
store_url = support.store_url
store = support.store


def _count(store_, table) -> int:
    with store_.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@pytest.fixture
def small_county(store, tmp_path):
    h, p = write_county(tmp_path / "county", 30, seed=2, n_projects=4)
    import_file(store, h, actor="setup")
    import_file(store, p, actor="setup")
    return store


def _need(store_, need_id: int) -> tuple[float, int]:
    with store_.read() as conn:
        return tuple(
            conn.execute(
                sa.select(needs.c.amount, needs.c.version).where(
                    needs.c.need_id == need_id
                )
            ).one()
        )


# threads
def test_two_writers_of_one_version_one_wins_one_is_told(small_county):
    store_ = small_county
    row = view(store_, "households", ADMIN).iloc[0]
    key, version = row["household_id"], int(row["version"])
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def write(size: int) -> None:
        barrier.wait()
        try:
            outcome[size] = update_household(
                store_, key, {"size": size}, version=version, actor=f"cadre {size}"
            )
        except ConflictError as exc:
            outcome[size] = exc

    threads = [threading.Thread(target=write, args=(s,)) for s in (7, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [s for s, o in outcome.items() if o == version + 1]
    lost = [s for s, o in outcome.items() if isinstance(o, ConflictError)]
    assert len(won) == 1 and len(lost) == 1
    assert key in str(outcome[lost[0]]) and "read it again" in str(outcome[lost[0]])
    after = view(store_, "households", ADMIN).set_index("household_id").loc[key]
    assert after["size"] == won[0] and after["version"] == version + 1


def test_a_stale_version_is_refused_and_changes_nothing(small_county):
    store_ = small_county
    row = view(store_, "households", ADMIN).iloc[3]
    key = row["household_id"]
    update_household(store_, key, {"size": 2}, version=1, actor="a")
    with pytest.raises(ConflictError) as info:
        update_household(store_, key, {"size": 9}, version=1, actor="b")
    assert info.value.table == "households" and info.value.key == key
    after = view(store_, "households", ADMIN).set_index("household_id").loc[key]
    assert (after["size"], after["version"]) == (2, 2)


def test_threads_incrementing_one_need_lose_no_update(small_county):
    store_ = small_county
    need = view(store_, "needs", ADMIN).iloc[0]
    start = float(need["amount"])
    per_thread, n_threads = 25, 3

    def bump(done: list[int]) -> None:
        for _ in range(per_thread):
            while True:
                row = (
                    view(store_, "needs", ADMIN)
                    .set_index("need_id")
                    .loc[need["need_id"]]
                )
                try:
                    update_need(
                        store_,
                        int(need["need_id"]),
                        amount=float(row["amount"]) + 1,
                        version=int(row["version"]),
                        actor="thread",
                    )
                    break
                except ConflictError:
                    done[1] += 1
            done[0] += 1

    counts = [[0, 0] for _ in range(n_threads)]
    threads = [threading.Thread(target=bump, args=(c,)) for c in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = view(store_, "needs", ADMIN).set_index("need_id").loc[need["need_id"]]
    total = sum(c[0] for c in counts)
    assert total == per_thread * n_threads
    assert after["amount"] == start + total
    assert after["version"] == 1 + total


# processes
def _worker(url: str, worker: int, n_pledges: int, n_bumps: int, need_id, household):
    with open_store(url, migrate=False) as s:
        ids = []
        for i in range(n_pledges):
            ids.append(
                add_pledge(
                    s,
                    funder=f"捐赠者{worker}(示例)",
                    amount=1 + i,
                    household_id=household,
                    pledge_id=f"W{worker}-{i}",
                    actor=f"worker {worker}",
                )
            )
        conflicts = 0
        for _ in range(n_bumps):
            while True:
                amount, version = _need(s, need_id)
                try:
                    update_need(
                        s, need_id, amount=amount + 1, version=version, actor="w"
                    )
                    break
                except ConflictError:
                    conflicts += 1
        return ids, conflicts


def test_processes_writing_thousands_of_records_lose_none(small_county, store_url):
    store_ = small_county
    need = view(store_, "needs", ADMIN).iloc[1]
    household = need["household_id"]
    need_id, start = int(need["need_id"]), float(need["amount"])
    n_workers, n_pledges, n_bumps = 4, 300, 200
    store_.engine.dispose()  # the children open their own connections
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n_workers) as pool:
        results = pool.starmap(
            _worker,
            [
                (store_url, w, n_pledges, n_bumps, need_id, household)
                for w in range(n_workers)
            ],
        )
    written = {pid for ids, _ in results for pid in ids}
    assert len(written) == n_workers * n_pledges
    with store_.read() as conn:
        stored = set(conn.execute(sa.select(pledges.c.pledge_id)).scalars())
        amount, version = conn.execute(
            sa.select(needs.c.amount, needs.c.version).where(needs.c.need_id == need_id)
        ).one()
    assert stored == written
    assert amount == start + n_workers * n_bumps
    assert version == 1 + n_workers * n_bumps
    log = view(store_, "audit_log", ADMIN)
    assert (log["table_name"] == "pledges").sum() == n_workers * n_pledges
    assert (log["table_name"] == "needs").sum() == n_workers * n_bumps


# interrupted imports
_CHILD = textwrap.dedent(
    """
    import logging, sys
    from zfb.store import open_store, import_file

    class Say(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("writing households"):
                print("WRITING", flush=True)

    logging.getLogger("zfb.store").setLevel(logging.DEBUG)
    logging.getLogger("zfb.store").addHandler(Say())
    with open_store(sys.argv[1]) as store:
        import_file(store, sys.argv[2], actor="killed")
    print("DONE", flush=True)
    """
)


def _import_and_kill(url: str, path: Path, delay: float) -> None:
    """Import ``path`` in a child process and SIGKILL it ``delay`` s into the
    write (or after it finished, if it was quicker)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        for line in child.stdout:
            if line.strip() in ("WRITING", "DONE"):
                break
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_an_import_killed_midway_leaves_all_or_none(store, tmp_path, store_url):
    n = 3000
    rng = np.random.default_rng()
    delay = float(rng.uniform(0, 0.2))
    h, _ = write_county(tmp_path / "county", n, seed=int(rng.integers(1000)))

    # a first import, killed: nothing or everything (a kill after the commit,
    # before the child says DONE, leaves everything)
    _import_and_kill(store_url, h, delay)
    stored = _count(store, households)
    assert stored in (0, n)
    assert _count(store, audit_log) in (0, n + 1)
    if stored == 0:
        import_file(store, h, actor="again")

    # an update of every household, killed: old values or new ones, never a mix
    raw = pd.read_csv(h, dtype=str, keep_default_na=False)
    raw["income_per_capita"] = (raw["income_per_capita"].astype(float) + 1).astype(str)
    h2 = tmp_path / "households-v2.csv"
    raw.to_csv(h2, index=False)
    before = view(store, "households", ADMIN)["income_per_capita"]
    _import_and_kill(store_url, h2, delay)
    after = view(store, "households", ADMIN)
    moved = after["income_per_capita"] - before
    assert (moved == 0).all() or (moved == 1).all()
    assert set(after["version"]) in ({1}, {2})
    if store.dialect == "sqlite":
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # the store takes the next import as if nothing happened
    assert import_file(store, h2, actor="again").unchanged in (0, n)
    assert (view(store, "households", ADMIN)["version"] <= 2).all()
