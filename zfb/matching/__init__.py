"""Matching households to projects.

Single mode: each household to at most one project, each project within its
capacity and budget, the total score maximal. See ``docs/matching.md``.

The public names below are loaded on first use (PEP 562), so that importing
a light submodule such as :mod:`zfb.matching.states` (the store does) does
not import the solvers, scipy and networkx.
"""

import importlib

#: Public names and the submodules that define them.
_LAZY = {
    "covers": ".eligibility",
    "eligible_edges": ".eligibility",
    "to_networkx": ".eligibility",
    "ScoreWeights": ".scoring",
    "explain": ".scoring",
    "poverty_gap": ".scoring",
    "priority": ".scoring",
    "SOLVERS": ".single",
    "MatchGapWarning": ".single",
    "MatchResult": ".single",
    "match_single": ".single",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zfb.matching' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
