"""The store: households, projects, matches and pledges in a database.

SQLite in a file by default (``zfb.sqlite``, nothing to install), PostgreSQL
by URL; the same code for both. :func:`open_store` opens (and creates or
upgrades) a store; :func:`import_file` writes a file into it in one
transaction; :func:`view` reads a table as a :class:`Role` may see it;
:func:`export_table` and :func:`research_export` write files from it.
Matches go through the states of :mod:`zfb.matching.states`:
:func:`save_matches` stores a match run, :func:`accept_match` and
:func:`set_match_status` change one match, and :func:`match_book` reads
them back with their histories.

Examples
--------
>>> store = open_store("county.sqlite")  # doctest: +SKIP
>>> import_file(store, "households.csv", actor="admin")  # doctest: +SKIP
>>> view(store, "households", Role.funder_of()).head()  # doctest: +SKIP
"""

from .engine import Store, open_store, resolve_url
from .errors import AccessError, ConflictError, StoreError
from .export import PersonalDataWarning, export_table
from .imports import ImportSummary, import_file, import_households, import_projects
from .records import (
    accept_match,
    add_pledge,
    match_book,
    save_matches,
    set_match_status,
    update_household,
    update_need,
)
from .research import ResearchExport, deidentify, research_export
from .roles import ROLES, TABLES, Role, view

__all__ = [
    "ROLES",
    "TABLES",
    "AccessError",
    "ConflictError",
    "ImportSummary",
    "PersonalDataWarning",
    "ResearchExport",
    "Role",
    "Store",
    "StoreError",
    "accept_match",
    "add_pledge",
    "deidentify",
    "export_table",
    "import_file",
    "import_households",
    "import_projects",
    "match_book",
    "open_store",
    "research_export",
    "resolve_url",
    "save_matches",
    "set_match_status",
    "update_household",
    "update_need",
    "view",
]
