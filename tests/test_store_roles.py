"""Every role against every table: what each may see, and nothing more."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from tests.test_store_support import people_table, write_county
from zfb.store import (
    TABLES,
    AccessError,
    Role,
    add_pledge,
    export_table,
    import_file,
    open_store,
    save_matches,
    set_match_status,
    view,
)
from zfb.store.models import members

SECRET = "roles-test-key-0123456789"
FUNDER_A = "松涛乡村发展基金会(示例)"

# who may read what: written out here, apart from the code
DENIED = {
    "funder": {"household_causes", "members", "audit_log"},
    "analyst": {"audit_log"},
    "cadre": {"audit_log"},
    "administrator": set(),
}


@pytest.fixture(scope="module", params=support.BACKENDS)
def county(request, tmp_path_factory):
    """A store with households (names, phones), projects, matches, pledges,
    members and audit entries; and the raw households table."""
    tmp = tmp_path_factory.mktemp("roles")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'zfb.sqlite'}"
    else:
        url = support.fresh_database(support.postgres_url())
    raw = people_table(150, seed=21)
    raw.to_csv(tmp / "people.csv", index=False)
    _, projects_csv = write_county(tmp / "county", 10, seed=21, n_projects=12)
    with open_store(url) as store:
        import_file(store, tmp / "people.csv", actor="intake", secret=SECRET)
        import_file(store, projects_csv, actor="intake")
        from zfb.matching import match_single

        admin = Role.administrator()
        hh = view(store, "households", admin)
        pr = view(store, "projects", admin)
        result = match_single(
            hh.drop(columns=["name", "phone", "notes", "version"]),
            pr.drop(columns="version"),
        )
        assert len(result.matches) > 0
        save_matches(store, result.matches, actor="match run")
        first = view(store, "matches", admin).iloc[0]
        set_match_status(
            store,
            int(first["match_id"]),
            "accepted",
            version=1,
            actor="cadre 甲",
            note=f"户主{raw['户主姓名'].iloc[0]}同意, 电话{raw['联系电话'].iloc[0]}",
        )
        projects_of = pr.set_index("project_id")["funder"]
        pledged = hh["household_id"].iloc[:6]
        for i, hid in enumerate(pledged):
            add_pledge(
                store,
                funder=FUNDER_A if i % 2 else "另一家公司(示例)",
                amount=100 * (i + 1),
                household_id=hid,
                actor="desk",
            )
        add_pledge(
            store,
            funder=FUNDER_A,
            amount=50,
            project_id=pr["project_id"].iloc[0],
            actor="desk",
        )
        with store.write() as conn:
            now = pd.Timestamp.now(tz="UTC").to_pydatetime()
            conn.execute(
                sa.insert(members),
                [
                    {
                        "household_id": hid,
                        "relation": "户主",
                        "age": 40 + j,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for j, hid in enumerate(hh["household_id"].iloc[::10])
                ],
            )
        # the cadre of the two villages with most households
        top = hh.groupby(["township", "village"]).size().nlargest(2).index.tolist()
        yield {
            "store": store,
            "raw": raw,
            "households": hh,
            "projects_of": projects_of,
            "villages": top,
        }
    if request.param != "sqlite":
        support.drop_database(url)


def _roles(c) -> dict[str, Role]:
    return {
        "funder": Role.funder_of(FUNDER_A),
        "analyst": Role.analyst(),
        "cadre": Role.cadre(c["villages"]),
        "administrator": Role.administrator(),
    }


def _personal_values(c) -> set[str]:
    raw = c["raw"]
    return set(raw["户主姓名"]) | set(raw["联系电话"]) | set(raw["身份证号"])


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("kind", ["funder", "analyst", "cadre", "administrator"])
def test_every_role_against_every_table(county, kind, table):
    c = county
    role = _roles(c)[kind]
    if table in DENIED[kind]:
        with pytest.raises(AccessError, match=kind):
            view(c["store"], table, role)
        return
    df = view(c["store"], table, role)
    assert isinstance(df.index, pd.RangeIndex)
    text = df.astype(str).to_string()
    real_ids = set(c["households"]["household_id"])
    own = c["households"][
        c["households"][["township", "village"]]
        .apply(tuple, axis=1)
        .isin(c["villages"])
    ]

    # nobody but cadres and administrators sees a name, a phone or free text
    if kind in ("funder", "analyst"):
        hidden = {"name", "phone", "notes", "help_plan", "actor", "note"}
        assert not hidden & set(df.columns)
        for value in _personal_values(c):
            assert value not in text
    # a funder sees no household id and no village
    if kind == "funder":
        assert not {"household_id", "village", "group"} & set(df.columns)
        for hid in real_ids:
            assert hid not in text
    # an analyst sees pseudonyms only
    if kind == "analyst" and "household_id" in df.columns:
        ids = set(df["household_id"].dropna())
        assert ids and not ids & real_ids
        assert all(i.startswith("A") for i in ids)
    # a cadre sees its own villages' households only
    if kind == "cadre" and "household_id" in df.columns:
        assert set(df["household_id"].dropna()) <= set(own["household_id"])
    if kind == "cadre" and table == "households":
        assert set(df["household_id"]) == set(own["household_id"])
        assert df["name"].notna().all() and df["phone"].notna().all()
    if kind == "administrator" and table == "households":
        assert set(df["household_id"]) == real_ids
        assert df["name"].notna().all()


def test_analyst_pseudonyms_are_the_same_in_every_table(county):
    store = county["store"]
    role = Role.analyst()
    admin = Role.administrator()
    real = view(store, "needs", admin)
    pseudo = view(store, "needs", role)
    pairs = set(zip(real["household_id"], pseudo["household_id"], strict=True))
    assert len({p for _, p in pairs}) == len({r for r, _ in pairs})  # one to one
    mapping = dict(pairs)
    hh = view(store, "households", role)
    assert set(mapping.values()) <= set(hh["household_id"])
    causes_real = view(store, "household_causes", admin)
    causes_pseudo = view(store, "household_causes", role)
    for r, p in zip(
        causes_real["household_id"], causes_pseudo["household_id"], strict=True
    ):
        if r in mapping:
            assert mapping[r] == p


def test_a_funder_sees_its_own_matches_and_pledges(county):
    store, projects_of = county["store"], county["projects_of"]
    mine = view(store, "matches", Role.funder_of(FUNDER_A))
    every = view(store, "matches", Role.administrator())
    expected = every[every["project_id"].map(projects_of) == FUNDER_A]
    assert mine["match_id"].tolist() == expected["match_id"].tolist()
    assert "township" in mine.columns
    pledges = view(store, "pledges", Role.funder_of(FUNDER_A))
    assert set(pledges["funder"]) == {FUNDER_A} and len(pledges) == 4
    anyone = view(store, "pledges", Role.funder_of())
    assert len(anyone) == 7


def test_a_funder_sees_every_household_generalised_to_its_township(county):
    store, hh = county["store"], county["households"]
    seen = view(store, "households", Role.funder_of())
    assert len(seen) == len(hh)
    assert sorted(seen["township"]) == sorted(hh["township"])
    assert sorted(seen["income_per_capita"]) == sorted(hh["income_per_capita"])


def test_only_the_administrator_sees_who_changed_a_match(county):
    store = county["store"]
    history = view(store, "match_history", Role.administrator())
    assert "cadre 甲" in set(history["actor"])
    for role in _roles(county).values():
        if role.kind != "administrator":
            assert "actor" not in view(store, "match_history", role).columns


def test_the_note_of_a_change_is_free_text_for_cadres_and_administrators(
    county, tmp_path
):
    store, name = county["store"], county["raw"]["户主姓名"].iloc[0]
    notes = view(store, "match_history", Role.administrator())["note"].dropna()
    assert notes.str.contains(name).any()
    for kind, role in _roles(county).items():
        seen = view(store, "match_history", role)
        assert ("note" in seen.columns) == (kind in ("cadre", "administrator"))
        # an export leaves it out unless asked for personal data
        path = export_table(store, "match_history", tmp_path / f"{kind}.csv", role=role)
        assert name not in path.read_text(encoding="utf-8")


def test_roles_are_checked():
    with pytest.raises(AccessError, match="unknown role"):
        Role("mayor")
    with pytest.raises(AccessError, match="TOWNSHIP/VILLAGE"):
        Role.cadre(["泼机镇"])
    with pytest.raises(AccessError, match="villages"):
        Role.parse("cadre")
    with pytest.raises(AccessError, match="only a cadre"):
        Role("analyst", villages=frozenset({("a", "b")}))
    assert Role.cadre(["泼机镇/泼机镇第1村"]).villages == {("泼机镇", "泼机镇第1村")}


def test_an_unknown_table_is_refused(county):
    with pytest.raises(AccessError, match="unknown table"):
        view(county["store"], "settings", Role.administrator())
