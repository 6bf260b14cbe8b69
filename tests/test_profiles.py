"""Tests of zfb.profiles: features, the estimator, stability and words."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from zfb.errors import ConfigError, ValidationError
from zfb.profiles import (
    PovertyProfiles,
    describe_profiles,
    plot_profiles,
    profile_features,
    profile_stability,
)


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS and OpenMP thread: these fits are small."""
    with threadpool_limits(1):
        yield


# features
@pytest.fixture
def households() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["a", "b", "c", "d"],
            "size": [4, 1, 2, 5],
            "income_per_capita": [np.e - 1, 0.0, 1000.0, 2000.0],
            "causes": [
                "ILL.CANCER;LAB.NO_ADULT",
                "FAM.ELDERLY_ALONE",
                "ILL",
                "ILL.CANCER",
            ],
            "arable_land_mu": [2.0, 0.0, np.nan, 5.0],
            "labour_count": pd.array([0, 0, 1, pd.NA], dtype="Int64"),
        },
        index=[10, 11, 12, 13],
    )


def test_profile_features_by_hand(households):
    f = profile_features(households, secondary_min_share=0.5)
    assert f.index.tolist() == [10, 11, 12, 13]
    assert f["primary:ILL"].tolist() == [1, 0, 1, 1]
    assert f["primary:LAB"].tolist() == [1, 0, 0, 0]
    assert f["primary:FAM"].tolist() == [0, 1, 0, 0]
    # only ILL.CANCER reaches half the households
    assert [c for c in f.columns if c.startswith("cause:")] == ["cause:ILL.CANCER"]
    assert f["log_income"].iloc[0] == pytest.approx(1.0)
    # land per person 0.5, 0, missing -> median 0.5, 1
    assert f["land_per_person"].tolist() == pytest.approx([0.5, 0.0, 0.5, 1.0])
    # labour missing -> median of 0, 0, 1
    assert f["labour_count"].tolist() == [0, 0, 1, 0]
    assert "members_ill" not in f.columns  # absent from the table
    assert all(pd.api.types.is_float_dtype(t) for t in f.dtypes)


def test_profile_features_errors(households):
    with pytest.raises(ValidationError, match="causes"):
        profile_features(households.drop(columns="causes"))
    with pytest.raises(ConfigError, match="secondary_min_share"):
        profile_features(households, secondary_min_share=2)


# the estimator against scikit-learn's checks
@parametrize_with_checks(
    [
        PovertyProfiles(n_clusters=3, method="kmeans", random_state=0),
        PovertyProfiles(method="minibatch", k_range=(2, 4), random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# the estimator on known structure
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("method", ["kmeans", "minibatch"])
def test_auto_finds_the_number_of_blobs(seed, method):
    X, y = make_blobs(600, centers=4, cluster_std=0.6, random_state=seed)
    model = PovertyProfiles(method=method, random_state=seed).fit(X)
    assert model.n_clusters_ == 4
    assert max(model.silhouette_scores_, key=model.silhouette_scores_.get) == 4
    assert set(model.silhouette_scores_) == set(range(2, 11))
    assert adjusted_rand_score(y, model.labels_) > 0.9
    assert (model.predict(X) == model.labels_).all()
    assert model.cluster_centers_.shape == (4, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hdbscan_finds_dense_groups(seed):
    X, y = make_blobs(600, centers=3, cluster_std=0.5, random_state=seed)
    model = PovertyProfiles(method="hdbscan", random_state=seed).fit(X)
    assert model.n_clusters_ == 3
    kept = model.labels_ >= 0
    assert adjusted_rand_score(y[kept], model.labels_[kept]) > 0.9
    # predict assigns every household, noise included, to a cluster
    assert set(model.predict(X)) == {0, 1, 2}


def test_scaling_leaves_binary_columns_alone():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 2, 50), rng.normal(100, 10, 50)])
    model = PovertyProfiles(n_clusters=2, random_state=0).fit(X)
    assert model.mean_[0] == 0 and model.scale_[0] == 1
    assert model.mean_[1] == pytest.approx(X[:, 1].mean())
    assert model.scale_[1] == pytest.approx(X[:, 1].std())
    # centres come back in the units of X
    for c in range(2):
        assert model.cluster_centers_[c] == pytest.approx(
            X[model.labels_ == c].mean(axis=0), rel=1e-6
        )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "spectral"}, "method must be"),
        ({"n_clusters": 0}, "n_clusters must be"),
        ({"k_range": (1, 5)}, "k_range"),
        ({"sample_size": 1}, "sample_size"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ConfigError, match=match):
        PovertyProfiles(**params).fit(np.random.default_rng(0).normal(size=(20, 2)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stability_of_clear_structure(seed):
    X, _ = make_blobs(400, centers=[[0, 0], [6, 0], [0, 6]], random_state=seed)
    st = profile_stability(PovertyProfiles(), X, seeds=(seed, seed + 10, seed + 20))
    assert st.matrix.shape == (3, 3)
    assert np.diag(st.matrix).tolist() == [1, 1, 1]
    assert st.min > 0.95
    assert st.n_clusters.tolist() == [3, 3, 3]
    with pytest.raises(ConfigError, match="two seeds"):
        profile_stability(PovertyProfiles(), X, seeds=[0])


def test_stability_of_noise_is_low():
    X = np.random.default_rng(0).uniform(size=(300, 5))
    st = profile_stability(PovertyProfiles(n_clusters=8), X, seeds=(0, 1, 2))
    assert st.mean < 0.9


# words
def test_describe_by_hand():
    # cluster 0: illness with no labour; cluster 1: disability, large
    f = pd.DataFrame(
        {
            "primary:ILL": [1, 1, 1, 0, 0, 0],
            "primary:DIS": [0, 0, 0, 1, 1, 1],
            "cause:ILL.UREMIA": [1, 1, 1, 0, 0, 0],
            "size": [2, 2, 2, 6, 7, 6],
            "labour_count": [0, 0, 0, 2, 3, 2],
        },
        dtype=float,
    )
    d = describe_profiles(f, [0, 0, 0, 1, 1, 1])
    assert d["households"].tolist() == [3, 3]
    ill = d.set_index("cluster").loc[0]
    assert ill["causes"] == "ILL.UREMIA"  # most of the cluster: the secondary
    assert (
        ill["description_en"]
        == "kidney failure with no working-age adult and small households"
    )
    assert ill["description_zh"] == "尿毒症，无劳动力、人口少"
    dis = d.set_index("cluster").loc[1]
    assert dis["causes"] == "DIS"
    assert dis["description_en"].startswith("disability with ")
    assert "large households" in dis["description_en"]
    assert dis["labour_count"] == pytest.approx(7 / 3)


def test_describe_noise_and_mixed():
    f = pd.DataFrame({"primary:ILL": [1, 0, 1, 0], "size": [3, 3, 3, 3]}, dtype=float)
    d = describe_profiles(f, [-1, 0, 0, -1]).set_index("cluster")
    assert d.loc[-1, "description_en"].startswith("no dense profile")
    assert d.loc[0, "description_en"] == "mixed causes"
    with pytest.raises(ConfigError, match="labels has"):
        describe_profiles(f, [0, 1])


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_county_profiles(seed):
    synth = pytest.importorskip("zfb.synth")
    hh = synth.generate_county(3000, seed=seed).households
    f = profile_features(hh)
    model = PovertyProfiles(n_clusters=8, random_state=seed).fit(f)
    d = describe_profiles(f, model.labels_)
    assert d["households"].sum() == len(hh)
    assert d["share"].sum() == pytest.approx(1)
    # the generator gives every ILL household an ill member and DIS a
    # disabled one: some profile is named after each
    text = " ".join(d["description_en"])
    assert "ill members" in text or "illness" in text
    assert "disab" in text


def test_plot_profiles():
    f = pd.DataFrame({"primary:ILL": [1, 1, 0, 0], "size": [1, 1, 5, 6]}, dtype=float)
    d = describe_profiles(f, [0, 0, 1, 1])
    fig, ax = plt.subplots()
    assert plot_profiles(d, ax=ax, lang="en") is ax
    assert [p.get_width() for p in ax.containers[0]] == pytest.approx([0.5, 0.5])
    plt.close(fig)
