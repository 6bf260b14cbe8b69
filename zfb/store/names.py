"""Names the store's command line needs before any database is opened.

Kept apart from the modules that define the store, which import SQLAlchemy,
so that building the ``zfb`` command's parser stays fast.
"""

from __future__ import annotations

__all__ = ["ENV_ACTOR", "ENV_URL", "KINDS", "ROLES", "TABLES"]

#: Environment variable naming the store (a URL or a SQLite file).
ENV_URL = "ZFB_DATABASE_URL"
#: Environment variable naming who runs the commands (for the audit log).
ENV_ACTOR = "ZFB_ACTOR"
#: What a file imported into the store may hold.
KINDS: tuple[str, ...] = ("households", "projects", "pledges")
#: The roles, from the least to the most trusted.
ROLES: tuple[str, ...] = ("funder", "analyst", "cadre", "administrator")
#: The tables a view can be asked for.
TABLES: tuple[str, ...] = (
    "households",
    "household_causes",
    "causes",
    "needs",
    "members",
    "funders",
    "projects",
    "matches",
    "match_history",
    "pledges",
    "audit_log",
)
