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

from .._lazy import lazy_names

#: Public names and the modules that define them, loaded on first use, so
#: that the ``zfb`` command's parser (:mod:`zfb.store.cli`) and the names of
#: :mod:`zfb.store.names` do not import SQLAlchemy.
_LAZY = {
    "Store": ".engine",
    "open_store": ".engine",
    "resolve_url": ".engine",
    "AccessError": ".errors",
    "ConflictError": ".errors",
    "StoreError": ".errors",
    "PersonalDataWarning": ".export",
    "export_table": ".export",
    "ImportSummary": ".imports",
    "import_file": ".imports",
    "import_households": ".imports",
    "import_projects": ".imports",
    "accept_match": ".records",
    "add_pledge": ".records",
    "match_book": ".records",
    "save_matches": ".records",
    "set_match_status": ".records",
    "update_household": ".records",
    "update_need": ".records",
    "ResearchExport": ".research",
    "deidentify": ".research",
    "research_export": ".research",
    "ROLES": ".names",
    "TABLES": ".names",
    "Role": ".roles",
    "view": ".roles",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

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
