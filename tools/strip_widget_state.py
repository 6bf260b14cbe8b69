"""Remove what changes on every run from executed notebooks.

Usage: ``python tools/strip_widget_state.py NOTEBOOK...``

Drops the notebook's saved widget state (its model ids are random on every
run; neither nbval nor Voila needs it) and each cell's execution timestamps,
and writes the notebooks back in place. Run it after
``jupyter nbconvert --to notebook --execute --inplace`` and before committing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(path: Path) -> bool:
    """Strip one notebook; return whether it changed."""
    nb = nbformat.read(path, as_version=4)
    changed = nb.metadata.pop("widgets", None) is not None
    for cell in nb.cells:
        changed |= cell.metadata.pop("execution", None) is not None
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    for name in argv:
        print(f"{name}: {'stripped' if strip(Path(name)) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
