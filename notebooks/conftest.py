"""nbval collection of the notebooks.

- The research notebooks that read the real public data of
  ``../shared/data/real`` are skipped, with the reason shown, when that folder
  is absent: their stored outputs could not be reproduced.
- The dashboards (``dashboards/``) are not checked by nbval: they hold no
  outputs, only an app built on the county of the machine, and the browser
  tests (``tests/browser``) check them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real"
#: Notebook -> the folder of real data it reads.
NEEDS_REAL = {
    "research/costa_rica.ipynb": REAL / "costa_rica_poverty",
    "research/kiva.ipynb": REAL / "kiva",
}

collect_ignore_glob = ["dashboards/*.ipynb"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve()
        try:
            name = path.relative_to(HERE).as_posix()
        except ValueError:
            continue
        folder = NEEDS_REAL.get(name)
        if folder is not None and not folder.is_dir():
            item.add_marker(
                pytest.mark.skip(
                    reason=f"real public data not found at {folder} (../shared); "
                    "the notebook's stored outputs need it"
                )
            )
