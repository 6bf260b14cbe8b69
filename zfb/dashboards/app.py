"""What every dashboard app shares: a status line written after each update.

Widget messages reach the browser in the order they are sent, so the status
line, written last, tells a reader (and a browser test) that everything
above it shows the current filters. It also says how long the update took.
"""

from __future__ import annotations

import logging
import time

import ipywidgets as widgets

from .render import esc

__all__ = ["AppBase"]

logger = logging.getLogger(__name__)


class AppBase:
    """Base of the dashboard apps.

    Attributes
    ----------
    status : ipywidgets.HTML
        ``更新 update #N · T ms``: the number of updates so far and the time
        the last one took on the server. CSS class ``zfb-status``.
    updates : int
        Number of updates so far.
    """

    def __init__(self) -> None:
        self.updates = 0
        self.status = widgets.HTML().add_class("zfb-status")
        self._clock = time.perf_counter()

    def _start(self) -> None:
        self._clock = time.perf_counter()

    def _done(self) -> None:
        ms = 1000.0 * (time.perf_counter() - self._clock)
        self.updates += 1
        logger.debug(
            "%s: update %d took %.1f ms", type(self).__name__, self.updates, ms
        )
        self.status.value = (
            '<span style="color:#7f8c8d;font-size:.8em">'
            f"{esc(f'更新 update #{self.updates} · {ms:.0f} ms')}</span>"
        )
