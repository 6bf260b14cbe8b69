"""Dashboards: the notebooks of ``notebooks/dashboards``, served by Voila.

Each notebook is thin: it imports an app class from here, builds it on
:func:`load_county` and displays its ``widget``. The classes build the
widgets and redraw them through one update path; every number they show
comes from a tested function of zfb.

=================  =========================================  ==============
app                dashboard                                  for
=================  =========================================  ==============
``OverviewApp``    county overview: filters, headline         policy staff
                   figures, cause shares, illness, training
                   needs, beneficiaries by township
``MatchingApp``    a project's recommended households and     funders
                   their explanations; accept a match
``CustomApp``      criteria and a budget give a ranked        large funders
                   selection, downloadable as Excel
``IntakeApp``      enter or correct a household, with         cadres
                   inline validation; saved to the store
``ProfilesApp``    the clusters of the county in words        policy staff
=================  =========================================  ==============

``zfb serve`` (:mod:`zfb.dashboards.serve`) starts Voila on them. Importing
this package loads no widget library; the app classes load on first use.
"""

from __future__ import annotations

import importlib

from .data import CountyData, load_county

__all__ = [
    "CountyData",
    "CustomApp",
    "IntakeApp",
    "MatchingApp",
    "OverviewApp",
    "ProfilesApp",
    "load_county",
]

_APPS = {
    "OverviewApp": "overview",
    "MatchingApp": "matching",
    "CustomApp": "custom",
    "IntakeApp": "intake",
    "ProfilesApp": "profiles",
}


def __getattr__(name: str):
    if name in _APPS:
        module = importlib.import_module(f".{_APPS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
