"""The profiles dashboard: the clusters of the county, described in words.

The households are clustered once when the page opens
(:func:`zfb.profiles.profile_features`, :class:`zfb.profiles.PovertyProfiles`
with a fixed number of clusters, seeded) and each cluster is described by
:func:`zfb.profiles.describe_profiles` ("illness with ill members"). The
page lists the clusters with their share of the county; a township filter
shows how many of its households fall in each; picking a cluster shows its
members' traits against the county's and the townships where it is most
common. Changing the number of clusters refits (a few seconds).
"""

from __future__ import annotations

import logging

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..profiles import PovertyProfiles, describe_profiles, profile_features
from ..representativeness import sample_counts
from .app import AppBase
from .data import CountyData
from .render import bar_chart, esc, fmt_pct, table

__all__ = ["TRAIT_LABELS", "ProfilesApp"]

logger = logging.getLogger(__name__)

#: Labels of the trait columns of :func:`zfb.profiles.profile_features`.
TRAIT_LABELS = {
    "size": "人口 household size",
    "log_income": "收入对数 log(1 + income per person)",
    "labour_count": "劳动力 members able to work",
    "children_in_school": "在校子女 children in school",
    "elderly_count": "老人 elderly members",
    "members_ill": "患病成员 ill members",
    "members_disabled": "残疾成员 disabled members",
    "land_per_person": "人均耕地 arable land per person (mu)",
    "space_per_person": "人均住房 living space per person (m²)",
    "unsafe_housing": "危房 unsafe housing (share)",
    "has_debt": "负债 in debt (share)",
    "log_debt": "负债对数 log(1 + debt)",
}
_ALL = "*"


class ProfilesApp(AppBase):
    """Clusters of households, in words, with their members' traits.

    Parameters
    ----------
    county : CountyData
    n_clusters : int, default 6
        Number of clusters of the first fit (the page lets one change it).
    seed : int, default 0
        Seed of the clustering, so that the page shows the same clusters
        each time it opens.

    Attributes
    ----------
    k : ipywidgets.Dropdown
        Number of clusters (refits on change).
    township : ipywidgets.Dropdown
    cluster : ipywidgets.Dropdown
    clusters, members, places : ipywidgets.HTML
    features : DataFrame
        Output of :func:`zfb.profiles.profile_features`.
    model : PovertyProfiles
    profiles : DataFrame
        Output of :func:`zfb.profiles.describe_profiles`, largest first.
    widget : ipywidgets.VBox
    """

    def __init__(
        self, county: CountyData, *, n_clusters: int = 6, seed: int = 0
    ) -> None:
        super().__init__()
        self.county = county
        self.seed = seed
        self.features = profile_features(county.households, taxonomy=county.taxonomy)
        self._fit(n_clusters)
        self._build(n_clusters)
        self.update()

    def _fit(self, k: int) -> None:
        self.model = PovertyProfiles(n_clusters=k, random_state=self.seed).fit(
            self.features
        )
        self.profiles = describe_profiles(
            self.features, self.model.labels_, taxonomy=self.county.taxonomy
        )
        # clusters numbered by size, as listed: #1 the largest
        self._number = {int(c): i + 1 for i, c in enumerate(self.profiles["cluster"])}

    def _build(self, k: int) -> None:
        style = {"description_width": "initial"}
        hh = self.county.households
        self.k = widgets.Dropdown(
            options=list(range(2, 11)),
            value=k,
            description="群体数 clusters",
            style=style,
        ).add_class("zfb-k")
        self.township = widgets.Dropdown(
            options=[("全部乡镇 all townships", _ALL)]
            + [(t, t) for t in dict.fromkeys(hh["township"].astype(str))],
            value=_ALL,
            description="乡镇 Township",
            style=style,
        ).add_class("zfb-township")
        self.cluster = widgets.Dropdown(
            description="群体 Cluster", style=style
        ).add_class("zfb-cluster")
        self._fill_clusters()
        self.clusters = widgets.HTML().add_class("zfb-clusters")
        self.members = widgets.HTML().add_class("zfb-members")
        self.places = widgets.HTML().add_class("zfb-places")
        title = widgets.HTML(
            f"<h2>群体画像 Profiles</h2><p>数据 data: {esc(self.county.source)}</p>"
        )
        self.widget = widgets.VBox(
            [
                title,
                widgets.HBox(
                    [self.k, self.township], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.clusters,
                self.cluster,
                self.members,
                self.places,
                self.status,
            ]
        ).add_class("zfb-profiles")
        self.k.observe(self._refit, names="value")
        self.township.observe(self.update, names="value")
        self.cluster.observe(self.update, names="value")

    def _fill_clusters(self) -> None:
        options = [
            (f"#{self._number[int(r.cluster)]} {r.description_zh}", int(r.cluster))
            for r in self.profiles.itertuples()
        ]
        self._quiet = True
        self.cluster.options = options
        self.cluster.value = options[0][1]
        self._quiet = False

    def _refit(self, change=None) -> None:
        self._fit(int(self.k.value))
        self._fill_clusters()
        self.update()

    # the one update path
    def update(self, change: object = None) -> None:
        """Redraw the clusters for the township and the cluster picked."""
        if getattr(self, "_quiet", False):
            return
        self._start()
        labels = self.model.labels_
        hh = self.county.households
        frame = pd.DataFrame({"cluster": labels, "township": hh["township"].to_numpy()})
        town = self.township.value
        mine = frame if town == _ALL else frame[frame["township"] == town]
        counts = sample_counts(mine, by="cluster")
        with self.widget.hold_sync():
            self.clusters.value = self._clusters_html(counts, len(mine), town)
            self.members.value = self._members_html(int(self.cluster.value))
            self.places.value = self._places_html(int(self.cluster.value), frame)
            self._done()

    def _clusters_html(self, counts: pd.Series, n: int, town: str) -> str:
        rows = self.profiles
        values = [int(counts.get(c, 0)) for c in rows["cluster"]]
        labels = [
            f"#{self._number[int(c)]} {z} · {e}"
            for c, z, e in zip(
                rows["cluster"],
                rows["description_zh"],
                rows["description_en"],
                strict=True,
            )
        ]
        where = "全县 the county" if town == _ALL else town
        texts = [f"{fmt_pct(v / n if n else 0.0)} ({v:,})" for v in values]
        return bar_chart(
            labels,
            values,
            texts,
            title=f"群体 Clusters of {where} ({n:,} households)",
            vmax=float(max(values) if values else 0),
            colour="#117a65",
        )

    def _members_html(self, cluster: int) -> str:
        row = self.profiles[self.profiles["cluster"] == cluster].iloc[0]
        overall = self.features.mean()
        traits = [c for c in TRAIT_LABELS if c in self.profiles.columns]
        table_rows = pd.DataFrame(
            {
                "trait": [TRAIT_LABELS[t] for t in traits],
                "cluster": [row[t] for t in traits],
                "county": [overall[t] for t in traits],
            }
        )
        head = (
            f"<h4>{esc(f'#{self._number[cluster]} ' + str(row['description_zh']))}</h4>"
            f"<p>{esc(row['description_en'])} · {esc(fmt_pct(row['share']))} of "
            f"households ({int(row['households']):,})</p>"
        )
        return head + table(
            table_rows,
            {
                "trait": "特征 trait",
                "cluster": "群体均值 cluster mean",
                "county": "全县 county mean",
            },
            formats={"cluster": lambda v: f"{v:.2f}", "county": lambda v: f"{v:.2f}"},
            numeric=("cluster", "county"),
        )

    def _places_html(self, cluster: int, frame: pd.DataFrame) -> str:
        members = frame[frame["cluster"] == cluster]
        counts = sample_counts(members, by="township").sort_values(ascending=False)
        top = counts.head(10)
        return bar_chart(
            top.index.astype(str).tolist(),
            top.to_numpy(dtype=np.float64).tolist(),
            [f"{int(v):,}" for v in top],
            title="最多的乡镇 Townships where it is most common",
            colour="#117a65",
        )
