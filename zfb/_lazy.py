"""Public names of a package loaded on first use (PEP 562).

``import zfb`` and the ``zfb`` command start fast when a package's public
names are imported only when something asks for them: the report alone
imports matplotlib and seaborn, the solvers scipy and networkx, the store
SQLAlchemy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_names(
    package: str, names: Mapping[str, str], namespace: dict
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public
    ``names`` (name -> relative module that defines it) load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping of str to str
        Each public name and the module, relative to the package, that
        defines it (``".io"``).
    namespace : dict
        The package's ``globals()``: a name, once loaded, is kept there, so
        that ``__getattr__`` runs once per name.
    """

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
