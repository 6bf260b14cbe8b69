"""A synthetic county, calibrated to published shares of causes of poverty.

:func:`generate_county` builds a needs table of poor households and a supply
table of funders' projects in the canonical form of ``docs/data-model.md``,
for the 30 township units of 镇雄县 (shipped as ``zfb/data/townships.csv``).
The share of households listing each cause option of the national registry
(因病, 因残, ..., 其他) is calibrated to the figures in
``zfb/data/calibration.toml``: published shares for Yunnan's deep-poverty
counties where they exist, stated assumptions elsewhere. Every household is
made up: its id is a pseudonym (``ZX000001``) and it has no name, phone number
or ID number.

See ``docs/synthetic-county.md`` for what is calibrated to what.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError
from .taxonomy import REGISTRY_OPTIONS, Taxonomy, load_taxonomy

__all__ = [
    "DEFAULT_HOUSEHOLDS",
    "Calibration",
    "County",
    "HOUSEHOLD_COLUMNS",
    "PROJECT_COLUMNS",
    "generate_county",
    "load_calibration",
    "load_townships",
    "write_county",
]

logger = logging.getLogger(__name__)

#: Columns of a generated households table, in order.
HOUSEHOLD_COLUMNS: tuple[str, ...] = (
    "household_id",
    "township",
    "village",
    "size",
    "income_per_capita",
    "causes",
    "need_kind",
    "need_amount",
    "status",
    "returned_to_poverty",
    "arable_land_mu",
    "living_space_m2",
    "unsafe_housing",
    "has_debt",
    "debt_amount",
    "labour_count",
    "members_ill",
    "members_disabled",
    "children_in_school",
    "elderly_count",
)

_HOUSEHOLD_DTYPES = {
    "size": "int64",
    "income_per_capita": "float64",
    "need_kind": "str",
    "need_amount": "float64",
    "status": "str",
    "returned_to_poverty": "bool",
    "arable_land_mu": "float64",
    "living_space_m2": "float64",
    "unsafe_housing": "bool",
    "has_debt": "bool",
    "debt_amount": "float64",
    "labour_count": "Int64",
    "members_ill": "Int64",
    "members_disabled": "Int64",
    "children_in_school": "Int64",
    "elderly_count": "Int64",
}

#: Columns of a generated projects table, in order.
PROJECT_COLUMNS: tuple[str, ...] = (
    "project_id",
    "funder",
    "tags",
    "budget",
    "capacity",
    "townships",
    "per_household_cap",
    "modes",
    "title",
)

# the registry option that may hold secondary causes of any category
_CATCH_ALL = "其他"

#: Registered poor households recorded by the 2016 pilot in 镇雄县.
DEFAULT_HOUSEHOLDS = 45972

# projects per household by default: about 500 for the pilot's 45,972
_PROJECTS_PER_HOUSEHOLD = 500 / DEFAULT_HOUSEHOLDS
# total project capacity as a share of households (aid is scarce)
_CAPACITY_SHARE = 0.30
_CHUNK = 1 << 18

# household traits: rules of thumb for rural households in a Yunnan upland
# county; see docs/synthetic-county.md
_SIZE_EXTRA_MEAN = 3.0  # size is 1 + Poisson(3.0), at most 10
_MAX_SIZE = 10
_INCOME_MEDIAN = 2300.0  # CNY per person per year, status "poor"
_INCOME_SIGMA = 0.5
_INCOME_FACTOR_STATUS = {"poor": 1.0, "pre_exit": 1.25, "exited": 1.6}
_STATUS_SHARES = {"poor": 0.72, "pre_exit": 0.14, "exited": 0.14}
_RETURNED_SHARE = 0.04  # of households still poor
_NEED_KIND_MISSING = 0.03
_NEED_AMOUNT_MISSING = 0.05
_SEVERITY_AMOUNT = np.array([np.nan, 0.7, 1.0, 1.5])  # by severity 1-3

_TOWNSHIP_TYPE_WEIGHT = {"街道": 0.45, "镇": 1.2, "乡": 0.9, "民族乡": 0.9}
_FUNDER_KINDS = ("foundation", "company", "individual", "public")
_FUNDER_KIND_SHARES = (0.35, 0.30, 0.15, 0.20)
# relative interest of each funder kind in a registry option (default 1)
_FUNDER_INTEREST = {
    "foundation": {"因学": 2.0, "因病": 1.5, "因残": 1.5},
    "company": {"缺技术": 1.5, "缺资金": 2.0},
    "individual": {"因学": 3.0, "因病": 2.0, "其他": 2.0},
    "public": {"交通条件落后": 1.5, "缺水": 2.0, "因灾": 2.0},
}
_MODES = ("single", "single;crowdfunding", "bundle", "custom")
_MODE_SHARES = {
    "foundation": (0.6, 0.15, 0.15, 0.1),
    "company": (0.55, 0.1, 0.15, 0.2),
    "individual": (0.6, 0.4, 0.0, 0.0),
    "public": (0.8, 0.0, 0.2, 0.0),
}
# fictional name parts; "(示例)" marks every funder as an example
_NAME_STEMS = (
    "青禾", "山雀", "暖溪", "云杉", "晴川", "麦穗", "星芽", "朗月", "松涛", "竹影",
    "禾苗", "石泉", "远山", "雁回", "春溪", "晨露", "碧岭", "甘霖", "芳草", "明灯",
)  # fmt: skip
_FOUNDATION_THEMES = ("助学", "健康", "乡村发展", "公益", "关爱", "慈善")
_COMPANY_TRADES = ("茶业", "农业科技", "食品", "建材", "物流", "电子商务", "药业")
_PUBLIC_PROGRAMMES = (
    "县级财政扶贫专项", "县级行业扶贫资金", "东西部协作帮扶资金", "定点帮扶单位资金",
    "驻村工作队帮扶资金", "乡镇临时救助资金", "对口支援资金", "村集体经济帮扶资金",
)  # fmt: skip
_ACTION = {
    "medical_costs": "医疗救助",
    "rehabilitation": "康复援助",
    "tuition": "助学",
    "housing_repair": "安居改造",
    "drinking_water": "饮水改善",
    "livestock": "养殖扶持",
    "crop_inputs": "种植扶持",
    "seed_capital": "产业扶持",
    "microcredit": "信贷支持",
    "skills_training": "技能培训",
    "job_placement": "就业帮扶",
    "disaster_recovery": "灾后援助",
    "transport_access": "出行改善",
    "elderly_care": "养老关爱",
    "child_support": "儿童关爱",
    "debt_relief": "纾困",
    "relocation": "搬迁安置",
    "basic_living": "生活帮扶",
}


# ---------------------------------------------------------------------------
# package data
# ---------------------------------------------------------------------------
def load_townships() -> pd.DataFrame:
    """Return the 30 township units (乡/镇/街道) of 镇雄县.

    Returns
    -------
    DataFrame
        30 rows, RangeIndex, in code order; columns ``code`` (str, the
        9-digit 统计用区划代码), ``name`` (str) and ``type`` (str: 街道, 镇,
        乡 or 民族乡).

    Notes
    -----
    From the National Bureau of Statistics' division codes, 2022 edition, as
    published in the WTFPL-licensed ``modood/Administrative-divisions-of-China``
    repository.
    """
    path = resources.files("zfb") / "data" / "townships.csv"
    with path.open(encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return df[["code", "name", "type"]]


@dataclass(frozen=True, eq=False)
class Calibration:
    """Target cause shares and the rules that draw causes.

    Use :func:`load_calibration` to build one.

    Attributes
    ----------
    options : DataFrame
        One row per registry option (因病, ..., 其他), indexed by the option;
        columns ``primary`` (the taxonomy's primary code), ``share`` (target
        share of households listing the option), ``basis`` (``published``,
        ``derived`` or ``assumed``), ``source``, ``note`` and ``main_weight``.
    secondaries : DataFrame
        One row per secondary cause that is drawn; columns ``code``,
        ``option`` (the registry option it counts as) and ``weight``
        (relative weight within its option).
    groups : DataFrame
        Published shares of households listing any of two options; columns
        ``name``, ``options`` (tuple of two options), ``share``, ``basis``,
        ``source`` and ``overlap`` (share listing both, by
        inclusion-exclusion).
    share_one_option : float
        Share of households listing exactly one registry option.
    township_effect_sd : float
        Standard deviation of the log township effect.
    first_when_both : float
        In a group, the chance that its first option is the main cause of a
        household listing both.
    township_type_effect : dict
        Multipliers by township type, ``{type: {option: factor}}``.
    sources : dict
        Source texts by key.
    context : dict
        Figures reported for context only.
    version : str
        Version of the calibration file.
    """

    options: pd.DataFrame
    secondaries: pd.DataFrame
    groups: pd.DataFrame
    share_one_option: float
    township_effect_sd: float
    first_when_both: float
    township_type_effect: dict[str, dict[str, float]] = field(repr=False)
    sources: dict[str, str] = field(repr=False)
    context: dict[str, object] = field(repr=False)
    version: str = ""

    def option_of(self) -> dict[str, str]:
        """Map each drawn secondary cause code to its registry option."""
        return dict(
            zip(self.secondaries["code"], self.secondaries["option"], strict=True)
        )


def _config_error(source: str, where: str, rule: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {rule}")


def load_calibration(
    path: str | PathLike | None = None, taxonomy: Taxonomy | None = None
) -> Calibration:
    """Read and check the calibration of the synthetic county.

    Parameters
    ----------
    path : path, optional
        A TOML file in the format of the shipped ``zfb/data/calibration.toml``
        (which is read by default).
    taxonomy : Taxonomy, optional
        Taxonomy the secondary causes must belong to; default
        :func:`zfb.load_taxonomy`.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        If the file cannot be read (missing, or not UTF-8).
    ConfigError
        If the file is not valid TOML, an option is not a registry option
        or is listed twice, a share is outside 0 to 1, a secondary cause is
        unknown, belongs to another primary category than its option (any
        category may count as 其他) or is listed twice, a group's share does
        not follow from its options' shares, a setting is out of range, or
        the mean number of options per household is outside 1 to 3.
    """
    tax = taxonomy if taxonomy is not None else load_taxonomy()
    if path is None:
        name = "zfb/data/calibration.toml"
        text = (resources.files("zfb") / "data" / "calibration.toml").read_text(
            encoding="utf-8"
        )
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{name}: cannot read the calibration file: {exc}"
            ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    return _build_calibration(raw, tax, name)


def _build_calibration(raw: dict, tax: Taxonomy, name: str) -> Calibration:
    registry = tax.registry_map()
    sources = dict(raw.get("sources", {}))

    # options
    rows, secondaries = [], []
    seen_codes: dict[str, str] = {}
    for i, opt in enumerate(raw.get("option", [])):
        where = f"[[option]] number {i + 1}"
        option = opt.get("registry")
        if option not in REGISTRY_OPTIONS:
            raise _config_error(
                name,
                where,
                f"registry must be one of {', '.join(REGISTRY_OPTIONS)}"
                f"; got {option!r}",
            )
        if option in (r["option"] for r in rows):
            raise _config_error(name, where, f"option {option!r} is listed twice")
        share = float(opt.get("share", -1))
        if not 0 <= share <= 1:
            raise _config_error(name, where, f"share must be 0 to 1; got {share}")
        weight = float(opt.get("main_weight", 1.0))
        if weight <= 0:
            raise _config_error(name, where, "main_weight must be more than 0")
        primary = registry[option]
        src = opt.get("source", "")
        rows.append(
            {
                "option": option,
                "primary": primary,
                "share": share,
                "basis": opt.get("basis", "assumed"),
                "source": sources.get(src, src),
                "note": opt.get("note", ""),
                "main_weight": weight,
            }
        )
        subs = opt.get("secondaries", {})
        if share > 0 and not subs:
            raise _config_error(name, where, "an option with a share needs secondaries")
        for code, w in subs.items():
            if code not in tax.causes.index:
                raise _config_error(
                    name, f"{where} ({option})", f"unknown cause code {code!r}"
                )
            own = tax.primary(code) == primary or option == _CATCH_ALL
            if code == tax.primary(code) or not own:
                raise _config_error(
                    name,
                    f"{where} ({option})",
                    f"{code} must be a secondary cause of {primary}",
                )
            if code in seen_codes:
                raise _config_error(
                    name, where, f"{code} is already listed under {seen_codes[code]}"
                )
            if float(w) <= 0:
                raise _config_error(name, where, f"weight of {code} must be > 0")
            seen_codes[code] = option
            secondaries.append({"code": code, "option": option, "weight": float(w)})
    if not rows:
        raise _config_error(name, "[[option]]", "no option is defined")
    options = pd.DataFrame(rows).set_index("option")

    # groups of two options with a published union
    grows = []
    grouped: set[str] = set()
    for i, grp in enumerate(raw.get("group", [])):
        where = f"[[group]] number {i + 1}"
        members = tuple(grp.get("options", ()))
        if len(members) != 2 or any(m not in options.index for m in members):
            raise _config_error(
                name, where, "options must name two options defined as [[option]]"
            )
        if grouped & set(members):
            raise _config_error(name, where, "an option may be in one group only")
        grouped |= set(members)
        union = float(grp.get("share", -1))
        a, b = (options.at[m, "share"] for m in members)
        overlap = a + b - union
        if not -1e-9 <= overlap <= min(a, b) + 1e-9:
            raise _config_error(
                name,
                where,
                f"share {union} cannot be reached from the options' shares "
                f"{a} and {b}: it must lie between {max(a, b)} and {a + b}",
            )
        src = grp.get("source", "")
        grows.append(
            {
                "name": grp.get("name", " ".join(members)),
                "options": members,
                "share": union,
                "basis": grp.get("basis", "assumed"),
                "source": sources.get(src, src),
                "overlap": max(overlap, 0.0),
            }
        )
    groups = pd.DataFrame(
        grows, columns=["name", "options", "share", "basis", "source", "overlap"]
    )

    hh = raw.get("households", {})
    settings = {
        "share_one_option": float(hh.get("share_one_option", 0.12)),
        "township_effect_sd": float(hh.get("township_effect_sd", 0.2)),
        "group_first_when_both": float(hh.get("group_first_when_both", 0.5)),
    }
    for key, value in settings.items():
        upper = np.inf if key == "township_effect_sd" else 1.0
        if not 0 <= value <= upper:
            raise _config_error(
                name, f"[households] {key}", f"must be 0 to {upper}; got {value}"
            )
    for kind, effects in raw.get("township_type_effect", {}).items():
        for option, factor in effects.items():
            if option not in options.index or not float(factor) > 0:
                raise _config_error(
                    name,
                    f"[township_type_effect] {kind}",
                    f"{option!r} must be a defined option with a factor > 0",
                )
    cal = Calibration(
        options=options,
        secondaries=pd.DataFrame(secondaries, columns=["code", "option", "weight"]),
        groups=groups,
        share_one_option=settings["share_one_option"],
        township_effect_sd=settings["township_effect_sd"],
        first_when_both=settings["group_first_when_both"],
        township_type_effect={
            k: {o: float(f) for o, f in v.items()}
            for k, v in raw.get("township_type_effect", {}).items()
        },
        sources=sources,
        context=dict(raw.get("context", {})),
        version=str(raw.get("version", "")),
    )
    _k_shares(cal, name)  # checks the mean number of options
    return cal


# ---------------------------------------------------------------------------
# private core: cause draws on arrays
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Items:
    """The units drawn per household: single options, or a group of two.

    ``members[i]`` lists the option indices of item ``i`` (one or two);
    ``share[i]`` is the target share of households listing the item.
    """

    members: list[tuple[int, ...]]
    share: np.ndarray
    main_weight: np.ndarray
    overlap: np.ndarray  # share listing both members (0 for single options)


def _items(cal: Calibration) -> _Items:
    opts = list(cal.options.index)
    in_group = {}
    for g in cal.groups.itertuples():
        for m in g.options:
            in_group[m] = g
    members, share, weight, overlap = [], [], [], []
    done: set[str] = set()
    for o in opts:
        if o in done:
            continue
        g = in_group.get(o)
        if g is None:
            members.append((opts.index(o),))
            share.append(cal.options.at[o, "share"])
            weight.append(cal.options.at[o, "main_weight"])
            overlap.append(0.0)
            done.add(o)
        else:
            members.append(tuple(opts.index(m) for m in g.options))
            share.append(g.share)
            weight.append(
                np.mean([cal.options.at[m, "main_weight"] for m in g.options])
            )
            overlap.append(g.overlap)
            done |= set(g.options)
    return _Items(members, np.array(share), np.array(weight), np.array(overlap))


def _k_shares(cal: Calibration, source: str = "calibration") -> np.ndarray:
    """Shares of households listing 1, 2 and 3 items (options or groups).

    The share of one is set; the shares of two and three follow so that the
    mean number of items equals the sum of the item shares.
    """
    mean = float(_items(cal).share.sum())
    p1 = cal.share_one_option
    p3 = mean - p1 - 2 * (1 - p1)
    p2 = 1 - p1 - p3
    if not (0 <= p1 <= 1 and p2 >= -1e-12 and p3 >= -1e-12):
        raise ConfigError(
            f"{source}: the option shares add up to {mean:.3f} options per "
            f"household, which cannot be reached with 1 to 3 options each and "
            f"share_one_option = {p1}; change the shares or share_one_option"
        )
    return np.clip(np.array([p1, p2, p3]), 0, 1)


def _item_counts(
    n: int, shares: np.ndarray, k_shares: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Number of items of each household, and the item shares to rake to.

    The counts of households with 1, 2 and 3 items are fixed (not drawn) so
    that the households list ``round(n * shares.sum())`` items in all; the
    shares are rescaled by the rounding (less than ``1 / n``) so that rows
    and columns of the raking agree. The counts are then shuffled.
    """
    total = round(n * float(shares.sum()))
    n1 = round(k_shares[0] * n)
    n1 = min(max(n1, 2 * n - total), (3 * n - total) // 2)
    n3 = total - n1 - 2 * (n - n1)
    n2 = n - n1 - n3
    k = rng.permutation(np.repeat(np.array([1, 2, 3]), [n1, n2, n3]))
    return k, shares * total / (n * shares.sum())


def _scale_rows_capped(x: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Scale each row of ``x`` to sum to ``totals`` with entries at most 1.

    Entries that would exceed 1 are set to 1 and the rest scaled up, until
    no entry exceeds 1 (at most one pass per column).
    """
    out = x.copy()
    capped = np.zeros(x.shape, dtype=bool)
    for _ in range(x.shape[1] + 1):
        free = np.where(capped, 0.0, x)
        room = totals - capped.sum(axis=1)
        denom = free.sum(axis=1)
        scale = np.divide(room, denom, out=np.zeros_like(room), where=denom > 0)
        out = np.where(capped, 1.0, x * scale[:, None])
        over = (out > 1.0) & ~capped
        if not over.any():
            break
        capped |= over
    return out


def _rake(
    init: np.ndarray,
    counts: np.ndarray,
    targets: np.ndarray,
    max_iter: int = 5000,
    tol: float = 1e-10,
) -> np.ndarray:
    """Inclusion probabilities by township, count of items and item.

    Iterative proportional fitting of ``init`` (shape ``(T, K, J)``) so that
    each row ``[t, k, :]`` sums to ``k + 1`` with entries in ``[0, 1]`` and
    the household-weighted mean of each column equals ``targets[j]``.

    Parameters
    ----------
    init : ndarray of shape (T, K, J)
        Positive starting propensities (township effects).
    counts : ndarray of shape (T, K)
        Households per township and number of items.
    targets : ndarray of shape (J,)
        Target share of households listing each item.

    Returns
    -------
    ndarray of shape (T, K, J)
    """
    n_t, n_k, n_j = init.shape
    totals = np.tile(np.arange(1, n_k + 1, dtype=float), n_t)
    n = counts.sum()
    x = init.copy()
    err = np.inf
    for it in range(max_iter):
        # column step
        col = np.einsum("tk,tkj->j", counts, x) / n
        x *= np.divide(targets, col, out=np.zeros_like(col), where=col > 0)
        # row step
        x = _scale_rows_capped(x.reshape(n_t * n_k, n_j), totals).reshape(x.shape)
        col = np.einsum("tk,tkj->j", counts, x) / n
        err = np.abs(col - targets).max()
        if err < tol:
            logger.debug("raked cause shares in %d iterations", it + 1)
            return x
    raise ConfigError(
        f"the cause shares cannot be reached by township (largest gap {err:.2g} "
        "after raking); lower township_effect_sd or the largest shares"
    )


def _systematic_sample(
    pi: np.ndarray, k: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``k[h]`` distinct items per row with inclusion probabilities ``pi``.

    Random-order systematic sampling: the items of each row are put in a
    random order, their probabilities laid end to end, and the items that
    hold the points ``u, u + 1, ..., u + k - 1`` are taken, ``u`` uniform on
    [0, 1). Each row of ``pi`` must sum to its ``k`` with entries at most 1.

    Parameters
    ----------
    pi : ndarray of shape (N, J)
    k : ndarray of shape (N,), values 1 to 3

    Returns
    -------
    ndarray of shape (N, 3), int
        Item indices in the order drawn (a random order), ``-1`` past ``k``.
    """
    n, n_j = pi.shape
    order = rng.permuted(
        np.broadcast_to(np.arange(n_j, dtype=np.int8), (n, n_j)), axis=1
    )
    cum = np.cumsum(np.take_along_axis(pi, order, axis=1), axis=1)
    cum[:, -1] = np.inf  # guard the last edge against rounding
    u = rng.random(n)
    out = np.full((n, 3), -1, dtype=np.int64)
    for i in range(3):
        pos = (cum > (u + i)[:, None]).argmax(axis=1)
        out[:, i] = np.where(i < k, order[np.arange(n), pos], -1)
    return out


def _pick(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Column index per row, drawn with probability proportional to weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _draw_options(
    town: np.ndarray,
    town_types: list[str],
    cal: Calibration,
    rng: np.random.Generator,
) -> np.ndarray:
    """Registry options of each household, main cause first.

    Returns
    -------
    ndarray of shape (N, 3), int
        Option indices (rows of ``cal.options``), ``-1`` padded.
    """
    items = _items(cal)
    opts = list(cal.options.index)
    n, n_t, n_j = len(town), len(town_types), len(items.members)

    # number of items per household
    k, targets = _item_counts(n, items.share, _k_shares(cal), rng)

    # township effect, raked back to the county targets
    effect = np.exp(cal.township_effect_sd * rng.standard_normal((n_t, n_j)))
    for t, kind in enumerate(town_types):
        for j, mem in enumerate(items.members):
            factors = [
                cal.township_type_effect.get(kind, {}).get(opts[m], 1.0) for m in mem
            ]
            effect[t, j] *= np.mean(factors)
    counts = np.zeros((n_t, 3))
    np.add.at(counts, (town, k - 1), 1)
    init = np.broadcast_to((items.share * effect)[:, None, :], (n_t, 3, n_j)).copy()
    pi = _rake(init, counts, targets)

    # draw the items, in chunks to bound memory
    drawn = np.empty((n, 3), dtype=np.int64)
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        drawn[sl] = _systematic_sample(pi[town[sl], k[sl] - 1], k[sl], rng)

    # main item first
    w = np.where(drawn >= 0, items.main_weight[np.maximum(drawn, 0)], 0.0)
    main = _pick(w, rng)
    rows = np.arange(n)
    first = drawn[rows, main].copy()
    drawn[rows, main] = drawn[:, 0]
    drawn[:, 0] = first

    # expand items to options; a group may give both of its options
    out = np.full((n, 3), -1, dtype=np.int64)
    single = np.array([m[0] for m in items.members])
    valid = drawn >= 0
    out[valid] = single[drawn[valid]]
    for j, mem in enumerate(items.members):
        if len(mem) == 1:
            continue
        a_share = cal.options["share"].iloc[mem[0]]
        low = k <= 2  # room for one more option
        expect = np.einsum("tk,tk->", counts, pi[:, :, j])
        expect_low = np.einsum("tk,tk->", counts[:, :2], pi[:, :2, j])
        p_both = items.overlap[j] * n / expect_low if expect_low > 0 else 0.0
        if p_both > 1:
            raise ConfigError(
                f"the overlap of {opts[mem[0]]} and {opts[mem[1]]} "
                f"({items.overlap[j]:.3f}) is too large to reach; lower it"
            )
        p_a = (a_share * n - p_both * expect_low) / (expect - p_both * expect_low)
        p_a = min(max(p_a, 0.0), 1.0)
        hit_r, hit_c = np.nonzero(drawn == j)
        u = rng.random(len(hit_r))
        both = low[hit_r] & (u < p_both)
        # a household without both: first option with chance p_a
        v = rng.random(len(hit_r))
        one = np.where(v < p_a, mem[0], mem[1])
        # with both: the main one is mem[0] with chance first_when_both
        lead = np.where(v < cal.first_when_both, mem[0], mem[1])
        other = np.where(lead == mem[0], mem[1], mem[0])
        out[hit_r, hit_c] = np.where(both, lead, one)
        br = hit_r[both]
        out[br, k[br]] = other[both]
    return out


def _draw_secondaries(
    options: np.ndarray, cal: Calibration, codes: list[str], rng: np.random.Generator
) -> np.ndarray:
    """Secondary cause (index into ``codes``) for each listed option."""
    out = np.full(options.shape, -1, dtype=np.int64)
    index = {c: i for i, c in enumerate(codes)}
    sec = cal.secondaries
    for o, option in enumerate(cal.options.index):
        mask = options == o
        m = int(mask.sum())
        if not m:
            continue
        rows = sec[sec["option"] == option]
        p = rows["weight"].to_numpy() / rows["weight"].sum()
        pick = rng.choice(len(rows), size=m, p=p)
        out[mask] = np.array([index[c] for c in rows["code"]])[pick]
    return out


def _join_codes(causes: np.ndarray, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's codes joined with ``;``, as distinct texts and an index.

    Returns
    -------
    text : ndarray of object
        The distinct joined texts.
    inverse : ndarray of shape (N,), int
        Row ``i`` reads ``text[inverse[i]]``.
    """
    base = len(codes) + 1
    key = (
        (causes[:, 0] + 1) * base * base + (causes[:, 1] + 1) * base + causes[:, 2] + 1
    )
    uniq, inverse = np.unique(key, return_inverse=True)
    names = np.array(["", *codes], dtype=object)
    sep = np.array(["", *(";" + c for c in codes)], dtype=object)
    text = names[uniq // (base * base)] + sep[(uniq // base) % base] + sep[uniq % base]
    return text, inverse


def _str_column(categories: np.ndarray, index: np.ndarray) -> pd.Series:
    """Series of pandas' default ``str`` dtype reading ``categories[index]``.

    An index of ``-1`` gives a missing value. With pyarrow storage the
    texts are taken in Arrow, without a Python object per row.
    """
    dtype = pd.Series([], dtype="str").dtype
    cats = np.append(np.asarray(categories, dtype=object), None)
    take = np.where(index < 0, len(cats) - 1, index)
    if getattr(dtype, "storage", None) == "pyarrow":
        import pyarrow as pa

        taken = pa.array(cats, type=pa.string()).take(pa.array(take))
        return pd.Series(taken, dtype=dtype)
    values = cats[take]
    return pd.Series(values, dtype=dtype)


# ---------------------------------------------------------------------------
# private core: household traits
# ---------------------------------------------------------------------------
def _traits(
    causes: np.ndarray,
    codes: list[str],
    is_street: np.ndarray,
    tax: Taxonomy,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Size, members, income, land, housing, debt and need of each household.

    Each trait follows the household's causes where a cause implies it; see
    the rules in :func:`generate_county`.
    """
    n = len(causes)
    prim = np.array([c.split(".")[0] for c in codes])

    def has(code: str) -> np.ndarray:
        if code not in codes:
            return np.zeros(n, dtype=bool)
        return (causes == codes.index(code)).any(axis=1)

    def has_primary(p: str) -> np.ndarray:
        hit = np.flatnonzero(prim == p)
        return np.isin(causes, hit).any(axis=1)

    ill, dis, edu = has_primary("ILL"), has_primary("DIS"), has_primary("EDU")
    no_adult, alone = has("LAB.NO_ADULT"), has("FAM.ELDERLY_ALONE")
    no_supporter, weak = has("FAM.NO_SUPPORTER"), has("LAB.WEAK_LABOUR")
    ageing, care = has("LAB.AGEING"), has("LAB.CARE_BURDEN")
    multi_child, many = has("EDU.MULTI_CHILD"), has("FAM.MANY_DEPENDANTS")
    left_behind = has("FAM.LEFT_BEHIND_CHILD")
    debt_codes = [c for c in codes if c.startswith("CAP.DEBT_")]
    debt_cause = np.isin(causes, [codes.index(c) for c in debt_codes]).any(axis=1)
    unsafe_cause = has("RES.UNSAFE_HOUSE") | has("DST.HOUSE_DAMAGE")

    # size
    size = 1 + np.minimum(rng.poisson(_SIZE_EXTRA_MEAN, n), _MAX_SIZE - 1)
    size = np.where(no_adult, np.minimum(size, 4), size)
    size = np.where(no_supporter, np.minimum(size, 2), size)
    size = np.where(alone, 1, size)
    floor = np.ones(n, dtype=np.int64)
    floor = np.where(edu | has("FAM.SINGLE_PARENT") | left_behind, 2, floor)
    floor = np.where(multi_child, 3, floor)
    floor = np.where(many, 5, floor)
    size = np.maximum(size, floor)

    # members: children in school, elderly, labour
    children = rng.binomial(np.maximum(size - 2, 0), 0.4)
    children = np.where(edu | left_behind, np.maximum(children, 1), children)
    children = np.where(multi_child, np.maximum(children, 2), children)
    children = np.where(size >= 2, np.minimum(children, size - 1), 0)
    elderly = rng.choice(3, size=n, p=[0.55, 0.28, 0.17])
    needs_elder = no_adult | no_supporter | ageing | alone
    elderly = np.where(needs_elder, np.maximum(elderly, 1), elderly)
    elderly = np.minimum(elderly, size - children)
    rest = size - children - elderly
    labour = rng.binomial(rest, 0.75)
    labour = np.where(rest >= 1, np.maximum(labour, 1), labour)
    labour = np.where(weak | ageing | care, np.minimum(labour, 1), labour)
    labour = np.where(no_adult | alone, 0, labour)
    members_ill = np.where(
        ill, 1 + rng.binomial(size - 1, 0.08), rng.binomial(size, 0.03)
    )
    members_disabled = np.where(
        dis, 1 + rng.binomial(size - 1, 0.05), rng.binomial(size, 0.015)
    )

    # status and income
    status_names = np.array(list(_STATUS_SHARES))
    status = rng.choice(len(status_names), size=n, p=list(_STATUS_SHARES.values()))
    factor = np.array([_INCOME_FACTOR_STATUS[s] for s in status_names])[status]
    factor = factor * np.where(ill, 0.85, 1.0) * np.where(dis, 0.85, 1.0)
    factor = factor * np.where(no_adult, 0.7, 1.0) * np.where(alone, 0.75, 1.0)
    income = _INCOME_MEDIAN * factor * rng.lognormal(0.0, _INCOME_SIGMA, n)
    income = np.round(income)
    returned = (status == 0) & (rng.random(n) < _RETURNED_SHARE)

    # land and housing
    land = size * rng.lognormal(0.0, 0.5, n) * np.where(is_street, 0.4, 1.0)
    land = land * np.where(has("RES.LITTLE_LAND"), 0.3, 1.0)
    land = np.where(has("RES.NO_LAND"), 0.0, np.round(land, 1))
    space = size * rng.lognormal(np.log(20.0), 0.35, n)
    space = np.maximum(np.round(space * np.where(has("RES.NO_HOUSE"), 0.5, 1.0)), 8.0)
    unsafe = unsafe_cause | (rng.random(n) < 0.05)

    # debt
    has_debt = debt_cause | (rng.random(n) < 0.18 + 0.12 * ill)
    debt = rng.lognormal(np.log(12000.0), 0.8, n)
    debt = debt * np.where(has("CAP.DEBT_HOUSING"), 2.0, 1.0)
    debt = debt * np.where(has("CAP.DEBT_MEDICAL"), 1.3, 1.0)
    debt = np.where(has_debt, np.maximum(np.round(debt, -2), 100.0), 0.0)

    # need from the main cause: its first need kind, or another one of its
    kinds = list(tax.need_kinds.index)
    lists = [
        [kinds.index(x) for x in tax.causes.at[c, "need_kinds"] if x in kinds]
        for c in codes
    ]
    width = max(1, *(len(ks) for ks in lists))
    table = np.array([ks + [-1] * (width - len(ks)) for ks in lists], dtype=np.int64)
    n_alt = np.array([max(len(ks) - 1, 0) for ks in lists])
    main = causes[:, 0]
    alt = 1 + (rng.random(n) * np.maximum(n_alt[main], 1)).astype(np.int64)
    use_alt = (rng.random(n) < 0.25) & (n_alt[main] > 0)
    kind = table[main, np.where(use_alt, np.minimum(alt, width - 1), 0)]
    kind = np.where(rng.random(n) < _NEED_KIND_MISSING, -1, kind)
    typical = tax.need_kinds["typical_amount"].to_numpy(dtype=float)
    severity = tax.causes.loc[codes, "severity"].to_numpy()[main]
    amount = np.where(kind >= 0, typical[np.maximum(kind, 0)], np.nan)
    amount = amount * _SEVERITY_AMOUNT[severity] * rng.lognormal(0.0, 0.4, n)
    amount = np.round(amount, -2)
    amount = np.where(rng.random(n) < _NEED_AMOUNT_MISSING, np.nan, amount)
    kind_names = np.array(kinds, dtype=object)

    return {
        "size": size.astype(np.int64),
        "income_per_capita": income.astype(np.float64),
        "need_kind": (kind_names, kind),
        "need_amount": amount.astype(np.float64),
        "status": (status_names.astype(object), status),
        "returned_to_poverty": returned,
        "arable_land_mu": land.astype(np.float64),
        "living_space_m2": space.astype(np.float64),
        "unsafe_housing": unsafe,
        "has_debt": has_debt,
        "debt_amount": debt.astype(np.float64),
        "labour_count": labour,
        "members_ill": members_ill,
        "members_disabled": members_disabled,
        "children_in_school": children,
        "elderly_count": elderly,
    }


def _fix_conflicts(causes: np.ndarray, codes: list[str]) -> np.ndarray:
    """Replace causes that contradict another cause of the same household.

    An elderly person living alone (``FAM.ELDERLY_ALONE``) cannot also have a
    child in school, a disabled child or family to care for; such a household
    lists ``FAM.NO_SUPPORTER`` instead (same registry option, 其他).
    """
    if "FAM.ELDERLY_ALONE" not in codes or "FAM.NO_SUPPORTER" not in codes:
        return causes
    alone = causes == codes.index("FAM.ELDERLY_ALONE")
    clash_codes = [
        i
        for i, c in enumerate(codes)
        if c.startswith("EDU.") or c in ("DIS.CHILD", "LAB.CARE_BURDEN")
    ]
    clash = np.isin(causes, clash_codes).any(axis=1)
    out = causes.copy()
    out[alone & clash[:, None]] = codes.index("FAM.NO_SUPPORTER")
    return out


# ---------------------------------------------------------------------------
# private core: projects
# ---------------------------------------------------------------------------
def _funder_names(kind: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct fictional names of funders of ``kind``."""
    if kind == "individual":
        return [f"个人捐赠人(示例){i + 1:02d}" for i in range(n)]
    if kind == "public":
        stems = list(_PUBLIC_PROGRAMMES)
    elif kind == "foundation":
        stems = [f"{s}{t}基金会" for s in _NAME_STEMS for t in _FOUNDATION_THEMES]
    else:
        stems = [f"{s}{t}有限公司" for s in _NAME_STEMS for t in _COMPANY_TRADES]
    stems = [stems[i] for i in rng.permutation(len(stems))]
    out = []
    for i in range(n):
        rnd, stem = divmod(i, len(stems))
        out.append(f"{stems[stem]}(示例)" + (f"{rnd + 1}" if rnd else ""))
    return out


@dataclass(frozen=True)
class _TagSpace:
    """What project tags are drawn from, as plain arrays and dicts."""

    options: list[str]
    shares: np.ndarray
    codes: dict[str, np.ndarray]  # secondary codes of each option
    weights: dict[str, np.ndarray]  # their probabilities
    need_kinds: dict[str, tuple[str, ...]]  # of each cause code
    typical: dict[str, float]  # of each need kind
    names: dict[str, str]  # Chinese name of each cause and need kind


def _tag_space(cal: Calibration, tax: Taxonomy) -> _TagSpace:
    sec = cal.secondaries
    codes, weights = {}, {}
    for option, rows in sec.groupby("option", sort=False):
        codes[option] = rows["code"].to_numpy(dtype=object)
        weights[option] = rows["weight"].to_numpy() / rows["weight"].sum()
    options = [o for o in cal.options.index if o in codes]
    typical = tax.need_kinds["typical_amount"].astype(float)
    return _TagSpace(
        options=options,
        shares=cal.options.loc[options, "share"].to_numpy(dtype=float),
        codes=codes,
        weights=weights,
        need_kinds=tax.causes["need_kinds"].to_dict(),
        typical={k: (v if np.isfinite(v) else 3000.0) for k, v in typical.items()},
        names={
            **tax.causes["name_zh"].astype(str).to_dict(),
            **tax.need_kinds["name_zh"].astype(str).to_dict(),
        },
    )


def _draw_rows(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn in each row of cumulative probabilities ``cum``."""
    return np.minimum((cum <= u[:, None]).sum(axis=1), cum.shape[1] - 1)


def _project_tags(
    kinds: np.ndarray, space: _TagSpace, rng: np.random.Generator
) -> list[list[str]]:
    """One to three tags for each project; ``kinds`` indexes _FUNDER_KINDS.

    Each tag comes from a registry option drawn by its share times the
    funder kind's interest (the next tag keeps the option with chance 0.6);
    the tag is one of its secondary causes, that secondary's primary code or
    one of its need kinds.
    """
    n = len(kinds)
    interest = np.array(
        [
            [_FUNDER_INTEREST.get(k, {}).get(o, 1.0) for o in space.options]
            for k in _FUNDER_KINDS
        ]
    )
    w = space.shares * interest
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)[kinds]
    n_tags = rng.choice(3, size=n, p=[0.5, 0.35, 0.15]) + 1
    option = np.empty((n, 3), dtype=np.int64)
    option[:, 0] = _draw_rows(cum, rng.random(n))
    for i in (1, 2):
        fresh = _draw_rows(cum, rng.random(n))
        option[:, i] = np.where(rng.random(n) < 0.6, option[:, i - 1], fresh)
    code = np.empty((n, 3), dtype=object)
    for o, name in enumerate(space.options):
        mask = option == o
        pool = space.codes[name]
        code[mask] = pool[
            rng.choice(len(pool), size=int(mask.sum()), p=space.weights[name])
        ]
    form = rng.random((n, 3))
    pick = rng.random((n, 3))
    out = []
    for r in range(n):
        tags: list[str] = []
        for i in range(n_tags[r]):
            c = code[r, i]
            if form[r, i] < 0.35:
                tag = c.split(".")[0]
            elif form[r, i] < 0.75 or not space.need_kinds[c]:
                tag = c
            else:
                ks = space.need_kinds[c]
                tag = ks[int(pick[r, i] * len(ks))]
            if tag not in tags:
                tags.append(tag)
        out.append(tags)
    return out


def _first_need_kind(tag: str, space: _TagSpace) -> str | None:
    if tag in space.typical:
        return tag
    kinds = space.need_kinds.get(tag, ())
    return kinds[0] if kinds else None


def _title(tag: str, space: _TagSpace) -> str:
    kind = _first_need_kind(tag, space)
    if kind == tag:
        return f"{space.names[tag]}项目"
    action = _ACTION.get(kind, "帮扶") if kind else "帮扶"
    return f"{action}项目({space.names[tag]})"


def _projects(
    n_projects: int,
    n_households: int,
    town_names: list[str],
    town_counts: np.ndarray,
    cal: Calibration,
    tax: Taxonomy,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Projects and funders tables (see :func:`generate_county`)."""
    # funders: every funder has at least one project
    n_funders = min(n_projects, max(1, round(n_projects / 2.5)))
    f_kind = rng.choice(len(_FUNDER_KINDS), size=n_funders, p=_FUNDER_KIND_SHARES)
    f_name = np.empty(n_funders, dtype=object)
    for i, kind in enumerate(_FUNDER_KINDS):
        idx = np.flatnonzero(f_kind == i)
        f_name[idx] = _funder_names(kind, len(idx), rng)
    extra = rng.integers(n_funders, size=n_projects - n_funders) if n_funders else []
    owner = np.concatenate([np.arange(n_funders), extra]).astype(np.int64)
    owner = rng.permutation(owner)

    # capacity: lognormal, scaled to a share of the households
    raw = rng.lognormal(0.0, 0.9, n_projects)
    total = _CAPACITY_SHARE * n_households
    capacity = np.maximum(np.round(raw / max(raw.sum(), 1e-12) * total), 1)

    kind = f_kind[owner]
    space = _tag_space(cal, tax)
    tags = _project_tags(kind, space, rng)

    # region: the whole county, or 1 to 6 townships weighted by households
    n_towns = len(town_names)
    p_all = np.where(kind == _FUNDER_KINDS.index("public"), 0.5, 0.15)
    n_cover = np.minimum(1 + rng.binomial(5, 0.25, n_projects), (town_counts > 0).sum())
    whole = (rng.random(n_projects) < p_all) | (n_cover == 0)
    # weighted sampling without replacement: the largest u ** (1 / weight)
    # (Efraimidis and Spirakis 2006)
    with np.errstate(divide="ignore"):
        keys = np.log(rng.random((n_projects, n_towns))) / town_counts
    order = np.argsort(-keys, axis=1)
    towns = []
    for r in range(n_projects):
        if whole[r]:
            towns.append("*")
        else:
            pick = np.sort(order[r, : n_cover[r]])
            towns.append(";".join(town_names[j] for j in pick))

    # money: budget binds when below capacity times the amount per household
    need = [_first_need_kind(t[0], space) for t in tags]
    typical = np.array([space.typical[k] if k else 3000.0 for k in need])
    cap = np.maximum(np.round(typical * rng.uniform(0.6, 1.5, n_projects), -2), 100.0)
    cap = np.where(rng.random(n_projects) < 0.3, np.nan, cap)
    per = np.where(np.isnan(cap), typical, cap)
    budget = capacity * per * rng.lognormal(-0.1, 0.5, n_projects)
    budget = np.maximum(np.round(budget, -3), 1000.0)

    mode_cum = np.cumsum([_MODE_SHARES[k] for k in _FUNDER_KINDS], axis=1)[kind]
    mode = np.array(_MODES, dtype=object)[_draw_rows(mode_cum, rng.random(n_projects))]
    body = pd.DataFrame(
        {
            "funder": f_name[owner],
            "tags": [";".join(t) for t in tags],
            "budget": budget,
            "townships": towns,
            "per_household_cap": cap,
            "modes": mode,
            "title": [_title(t[0], space) for t in tags],
        }
    )
    width = max(4, len(str(n_projects)))
    projects = pd.DataFrame(
        {
            "project_id": pd.Series(
                [f"P{i + 1:0{width}d}" for i in range(n_projects)], dtype="str"
            ),
            "funder": body["funder"].astype("str"),
            "tags": body["tags"].astype("str"),
            "budget": body["budget"].astype(np.float64),
            "capacity": capacity.astype(np.int64),
            "townships": body["townships"].astype("str"),
            "per_household_cap": body["per_household_cap"].astype(np.float64),
            "modes": body["modes"].astype("str"),
            "title": body["title"].astype("str"),
        },
        columns=list(PROJECT_COLUMNS),
    )
    used = np.bincount(owner, minlength=n_funders)
    funders = pd.DataFrame(
        {
            "funder": pd.Series(f_name, dtype="str"),
            "kind": pd.Series(
                np.array(_FUNDER_KINDS, dtype=object)[f_kind], dtype="str"
            ),
            "projects": used.astype(np.int64),
        }
    )
    return projects, funders[funders["projects"] > 0].reset_index(drop=True)


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class County:
    """A synthetic county: households, projects and where they are.

    Attributes
    ----------
    households : DataFrame
        The needs table, one row per household (see :func:`generate_county`).
    projects : DataFrame
        The supply table, one row per project.
    townships : DataFrame
        The township units used, columns ``code``, ``name``, ``type``.
    funders : DataFrame
        One row per funder named in ``projects``: ``funder`` (str), ``kind``
        (``foundation``, ``company``, ``individual`` or ``public``) and
        ``projects`` (int64, its number of projects).
    seed : int or None
        The seed the county was generated with.
    """

    households: pd.DataFrame
    projects: pd.DataFrame
    townships: pd.DataFrame
    funders: pd.DataFrame
    seed: int | None = None


def _check_townships(townships: pd.DataFrame | None) -> pd.DataFrame:
    if townships is None:
        return load_townships()
    if not isinstance(townships, pd.DataFrame) or "name" not in townships.columns:
        raise ConfigError(
            "townships must be a DataFrame with a 'name' column (and optionally "
            "'code' and 'type'), like zfb.synth.load_townships()"
        )
    df = townships.reset_index(drop=True).copy()
    names = df["name"].astype(str).str.strip()
    bad = names[(names == "") | (names == "*") | names.str.contains(";", regex=False)]
    if len(df) == 0 or len(bad):
        shown = repr(bad.iloc[0]) if len(bad) else "no rows"
        raise ConfigError(
            f"townships: each name must be non-empty, not '*' and without ';'; "
            f"got {shown}"
        )
    if names.duplicated().any():
        raise ConfigError(
            f"townships: names must be unique; {names[names.duplicated()].iloc[0]!r} "
            "appears twice"
        )
    if "type" not in df.columns:
        df["type"] = names.map(
            lambda s: next(
                (t for t in ("街道", "民族乡", "镇", "乡") if s.endswith(t)), "镇"
            )
        )
    if "code" not in df.columns:
        df["code"] = [f"{i + 1:03d}" for i in range(len(df))]
    out = pd.DataFrame({"code": df["code"], "name": names, "type": df["type"]})
    return out.astype("str")


def generate_county(
    n_households: int = DEFAULT_HOUSEHOLDS,
    n_projects: int | None = None,
    *,
    seed: int | None = 0,
    taxonomy: Taxonomy | None = None,
    townships: pd.DataFrame | None = None,
    calibration: Calibration | None = None,
) -> County:
    """Generate a synthetic county of poor households and funders' projects.

    Parameters
    ----------
    n_households : int, default=45972
        Number of households (the 2016 pilot recorded 45,972 in 镇雄县).
    n_projects : int, optional
        Number of projects; default about 500 per 45,972 households, at least 1.
    seed : int or None, default=0
        Seed of :func:`numpy.random.default_rng`; the same seed and arguments
        give the same county. ``None`` draws a fresh one.
    taxonomy : Taxonomy, optional
        Cause taxonomy; default :func:`zfb.load_taxonomy`. Secondary causes
        that the calibration does not list are never drawn.
    townships : DataFrame, optional
        Township units with a ``name`` column (and optionally ``code`` and
        ``type``: 街道, 镇, 乡, 民族乡); default the 30 of 镇雄县,
        :func:`load_townships`.
    calibration : Calibration, optional
        Target shares; default :func:`load_calibration`.

    Returns
    -------
    County
        ``households`` has ``n_households`` rows (RangeIndex) ordered by
        township and village, with the canonical columns ``household_id``
        (str, ``ZX000001``...), ``township`` (str), ``village`` (str),
        ``size`` (int64, 1 to 10), ``income_per_capita`` (float64, CNY per
        person per year), ``causes`` (str, 1 to 3 secondary cause codes
        joined by ``;``, main cause first), ``need_kind`` (str, NA for about
        3 %), ``need_amount`` (float64, CNY, NA for about 8 %) and the
        optional fields ``status`` (str), ``returned_to_poverty``,
        ``unsafe_housing``, ``has_debt`` (bool), ``arable_land_mu``,
        ``living_space_m2``, ``debt_amount`` (float64, 0 without debt),
        ``labour_count``, ``members_ill``, ``members_disabled``,
        ``children_in_school`` and ``elderly_count`` (Int64).
        ``projects`` has ``n_projects`` rows with the columns ``project_id``
        (str, ``P0001``...), ``funder``, ``tags``, ``budget`` (float64),
        ``capacity`` (int64), ``townships`` (str, names joined by ``;`` or
        ``*``), ``per_household_cap`` (float64, NA for about 30 %), ``modes``
        and ``title`` (str).

    Raises
    ------
    ConfigError
        If ``n_households`` is not a positive integer, ``n_projects`` is
        negative, ``townships`` has no usable names, or the calibration
        cannot be reached.

    Notes
    -----
    **Causes.** Each registry option (因病, ..., 其他) has a target share of
    households listing it (``calibration.toml``); 因病 and 因残 form a group
    whose union is the published 因病因残 share. A household draws the number
    of items (options or the group) it lists, 1 to 3, and then the items
    themselves by random-order systematic sampling with unequal probabilities
    [1]_ [2]_, whose inclusion probabilities are exact. The probabilities
    vary by township (a lognormal township effect and a township-type
    effect) and are raked by iterative proportional fitting [3]_ so that
    the county-level expected share of every item equals its target given
    the households actually drawn: the realised shares differ from the
    targets by sampling error only, with a variance at most
    ``p (1 - p) / n_households``. A household listing the group lists
    illness, disability or, where it has room, both, with the chances set
    so that both options' shares are met. The main cause is one of the
    household's items, drawn with the options' ``main_weight``. Each option
    then becomes one of its secondary causes, drawn with its weight.

    The joint distribution of options beyond these shares (which causes go
    together) is not calibrated: it comes from the sampling design, not from
    data. Shares are calibrated in expectation, so a small county (a few
    hundred households) shows large relative errors.

    **Traits follow causes.** ``LAB.NO_ADULT`` and ``FAM.ELDERLY_ALONE`` give
    ``labour_count`` 0; ``FAM.ELDERLY_ALONE`` gives size 1 and one elderly
    member; ``EDU.*`` and ``FAM.LEFT_BEHIND_CHILD`` give at least one child
    in school (``EDU.MULTI_CHILD`` two); ``FAM.MANY_DEPENDANTS`` gives size
    5 or more; ``ILL.*`` gives ``members_ill`` at least 1, ``DIS.*``
    ``members_disabled`` at least 1; ``RES.UNSAFE_HOUSE`` and
    ``DST.HOUSE_DAMAGE`` give ``unsafe_housing``; ``CAP.DEBT_*`` gives
    ``has_debt`` with a positive ``debt_amount``; ``RES.NO_LAND`` gives no
    arable land. Always ``labour_count + children_in_school +
    elderly_count <= size``. Incomes are lognormal, lower for ILL, DIS,
    ``LAB.NO_ADULT`` and people living alone, higher for households about to
    exit or exited. ``need_kind`` is one of the main cause's need kinds
    (usually the first) and ``need_amount`` its ``typical_amount`` scaled by
    the cause's severity, with lognormal noise.

    **Projects.** Funders are fictional foundations, companies, individual
    donors and public programmes, all marked "(示例)". Project tags are
    drawn towards common causes; total capacity is about 30 % of the
    households (at least one per project); budgets are capacity times the
    amount per household times a lognormal factor, so that the budget binds
    in a little over half of the projects.

    Runs in well under a second for 45,972 households and in seconds for a
    million; memory and time grow linearly with ``n_households``.

    References
    ----------
    .. [1] Madow, W. G. (1949). On the theory of systematic sampling, II.
       *Annals of Mathematical Statistics* 20(3), 333-354.
    .. [2] Hartley, H. O. and Rao, J. N. K. (1962). Sampling with unequal
       probabilities and without replacement. *Annals of Mathematical
       Statistics* 33(2), 350-374.
    .. [3] Deming, W. E. and Stephan, F. F. (1940). On a least squares
       adjustment of a sampled frequency table when the expected marginal
       totals are known. *Annals of Mathematical Statistics* 11(4), 427-444.
    .. [4] Efraimidis, P. S. and Spirakis, P. G. (2006). Weighted random
       sampling with a reservoir. *Information Processing Letters* 97(5),
       181-185. (Projects' townships: weighted sampling without replacement.)

    Examples
    --------
    >>> county = generate_county(500, 10, seed=1)
    >>> county.households.shape[0], county.projects.shape[0]
    (500, 10)
    """
    if isinstance(n_households, bool) or not isinstance(
        n_households, (int, np.integer)
    ):
        raise ConfigError(f"n_households must be an integer; got {n_households!r}")
    if n_households < 1:
        raise ConfigError(f"n_households must be 1 or more; got {n_households}")
    if n_projects is None:
        n_projects = max(1, round(n_households * _PROJECTS_PER_HOUSEHOLD))
    if isinstance(n_projects, bool) or not isinstance(n_projects, (int, np.integer)):
        raise ConfigError(f"n_projects must be an integer or None; got {n_projects!r}")
    if n_projects < 0:
        raise ConfigError(f"n_projects must be 0 or more; got {n_projects}")
    n, n_projects = int(n_households), int(n_projects)
    tax = taxonomy if taxonomy is not None else load_taxonomy()
    cal = calibration if calibration is not None else load_calibration(taxonomy=tax)
    towns = _check_townships(townships)
    rng = np.random.default_rng(seed)

    # townships and villages
    types = towns["type"].tolist()
    weight = np.array([_TOWNSHIP_TYPE_WEIGHT.get(t, 1.0) for t in types])
    weight = weight * rng.lognormal(0.0, 0.3, len(towns))
    town_counts = rng.multinomial(n, weight / weight.sum())
    town = np.repeat(np.arange(len(towns)), town_counts)
    village_names, village = [], np.empty(n, dtype=np.int64)
    start = 0
    for t, (name, kind) in enumerate(zip(towns["name"], types, strict=True)):
        n_v = int(rng.integers(4, 9) if kind == "街道" else rng.integers(8, 21))
        unit = "社区" if kind == "街道" else "村"
        offset = len(village_names)
        village_names += [f"{name}第{j + 1}{unit}" for j in range(n_v)]
        share = rng.dirichlet(np.full(n_v, 4.0))
        stop = start + town_counts[t]
        village[start:stop] = offset + np.sort(rng.choice(n_v, town_counts[t], p=share))
        start = stop

    # causes
    codes = cal.secondaries["code"].tolist()
    options = _draw_options(town, types, cal, rng)
    causes = _fix_conflicts(_draw_secondaries(options, cal, codes, rng), codes)
    is_street = np.array([t == "街道" for t in types])[town]
    traits = _traits(causes, codes, is_street, tax, rng)

    width = max(6, len(str(n)))
    ids = np.char.add("ZX", np.char.zfill(np.arange(1, n + 1).astype(str), width))
    hh = {
        "household_id": _str_column(ids, np.arange(n)),
        "township": _str_column(towns["name"].to_numpy(dtype=object), town),
        "village": _str_column(np.array(village_names, dtype=object), village),
        "causes": _str_column(*_join_codes(causes, codes)),
    }
    for col, values in traits.items():
        if isinstance(values, tuple):
            hh[col] = _str_column(*values)
        else:
            hh[col] = pd.Series(values, dtype=_HOUSEHOLD_DTYPES[col])
    households = pd.DataFrame(hh, columns=list(HOUSEHOLD_COLUMNS))

    projects, funders = _projects(
        n_projects, n, towns["name"].tolist(), town_counts, cal, tax, rng
    )
    logger.debug(
        "generated %d households and %d projects (seed %s)", n, n_projects, seed
    )
    return County(households, projects, towns, funders, seed)


def write_county(county: County, directory: str | PathLike) -> tuple[Path, Path]:
    """Write a county's households and projects as UTF-8 CSV files.

    Parameters
    ----------
    county : County
    directory : path
        Created if missing; ``households.csv`` and ``projects.csv`` in it are
        overwritten.

    Returns
    -------
    tuple of Path
        The paths of ``households.csv`` and ``projects.csv``. Headers are
        the canonical column names; missing values are empty fields;
        booleans are ``True`` and ``False``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "households.csv", out / "projects.csv")
    for df, path in zip((county.households, county.projects), paths, strict=True):
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return paths
