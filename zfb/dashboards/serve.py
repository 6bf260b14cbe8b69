"""``zfb serve``: the dashboards, served by Voila on this machine.

Voila runs the notebooks of ``notebooks/dashboards`` in tree mode, on
127.0.0.1 only, behind a token. The first line ``zfb serve`` prints is the
full address with the token; the next lines list the dashboards. The server
runs until it is interrupted (Ctrl-C) or sent SIGTERM, and then shuts its
kernels down.

Every option is given on Voila's command line, so a ``voila.json`` lying in
some folder changes nothing: Voila runs in the dashboards' folder, which
holds none.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .data import ENV_DATA, ENV_DB, ENV_MATCHES, ENV_REGISTRY

__all__ = [
    "DASHBOARDS",
    "Dashboard",
    "add_commands",
    "dashboard_env",
    "dashboards_dir",
    "free_port",
    "main",
    "serve",
    "stop",
    "voila_command",
    "wait_until_ready",
]

logger = logging.getLogger(__name__)

#: Where Voila answers without starting a kernel: the readiness probe.
PROBE = "voila/static/voila.js"
#: Seconds an idle dashboard kernel lives before Voila shuts it down.
CULL_IDLE = 900


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: its notebook and who it is for."""

    name: str
    notebook: str
    title: str
    audience: str

    def path(self) -> str:
        """Path of the page below the server's address."""
        return f"voila/render/{self.notebook}"


#: The dashboards, in the order ``zfb serve`` lists them.
DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard("overview", "overview.ipynb", "县域概览 County overview", "policy staff"),
    Dashboard("matching", "matching.ipynb", "帮扶对接 Matching", "funders"),
    Dashboard("custom", "custom.ipynb", "定制选择 Custom selection", "large funders"),
    Dashboard("intake", "intake.ipynb", "入户登记 Intake", "cadres, on a phone"),
    Dashboard("profiles", "profiles.ipynb", "群体画像 Profiles", "policy staff"),
)


def dashboards_dir() -> Path:
    """The folder of the dashboard notebooks, ``notebooks/dashboards``.

    Raises
    ------
    ConfigError
        If it is not there (zfb installed without the repository); then
        give the folder with ``zfb serve --notebooks DIR``.
    """
    path = Path(__file__).resolve().parents[2] / "notebooks" / "dashboards"
    if not (path / DASHBOARDS[0].notebook).is_file():
        raise ConfigError(
            f"the dashboard notebooks are not at {path}; run zfb from a clone of "
            "the repository or give their folder with --notebooks DIR"
        )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at this moment (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _voila() -> list[str]:
    exe = Path(sys.executable).with_name("voila")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("voila")
    if found:
        return [found]
    return [sys.executable, "-m", "voila"]


def voila_command(
    notebooks: str | os.PathLike,
    *,
    port: int,
    host: str = "127.0.0.1",
    preheat: bool = False,
) -> list[str]:
    """The Voila command line that serves a folder of dashboards.

    A browser must give a token (``?token=`` once, then a cookie). The token
    is not on the command line, which every user of the machine sees in the
    list of processes: Voila reads it from ``JUPYTER_TOKEN`` in its
    environment (:func:`dashboard_env`), and makes a random one without it.

    Parameters
    ----------
    notebooks : path
        Folder of the notebooks (tree mode: ``/`` lists them, each renders
        at ``/voila/render/NAME.ipynb``).
    port : int
        Port to listen on; Voila fails rather than move to another one.
    host : str, default "127.0.0.1"
        Address to listen on.
    preheat : bool, default False
        Keep one executed kernel ready per dashboard: the first page load
        is instant, but each pooled kernel shows the data as it was when
        the kernel started (an intake saved meanwhile shows on the next).

    Returns
    -------
    list of str
        ``argv`` for :class:`subprocess.Popen`.
    """
    cmd = [
        *_voila(),
        str(Path(notebooks)),
        "--no-browser",
        f"--port={int(port)}",
        f"--Voila.ip={host}",
        "--Voila.port_retries=0",
        "--Voila.auto_token=True",  # the token of JUPYTER_TOKEN, else a random one
        "--show_tracebacks=False",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}",
        "--MappingKernelManager.cull_interval=60",
        # kernels talk to Voila over sockets in a private folder, not over TCP
        # ports of 127.0.0.1 that every user of the machine can reach
        "--KernelManager.transport=ipc",
    ]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    return cmd


def dashboard_env(
    base: Mapping[str, str] | None = None,
    *,
    data: str | os.PathLike | None = None,
    db: str | None = None,
    matches: str | os.PathLike | None = None,
    registry: str | os.PathLike | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """Environment of the Voila process: what the kernels inherit.

    ``MPLBACKEND`` is removed (with it, charts drawn by notebooks vanish).
    ``token``, when given, is the token a browser must give, as
    ``JUPYTER_TOKEN`` (a ``JUPYTER_TOKEN_FILE`` of ``base`` is dropped):
    the environment of a process is private to its user, where its
    arguments are not.

    Raises
    ------
    ValueError
        If ``token`` is empty: Voila would then require none.
    """
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)
    if token is not None:
        if not token:
            raise ValueError("the token must not be empty: Voila would require none")
        env.pop("JUPYTER_TOKEN_FILE", None)
        env["JUPYTER_TOKEN"] = token
    pairs = (
        (ENV_DATA, data),
        (ENV_DB, db),
        (ENV_MATCHES, matches),
        (ENV_REGISTRY, registry),
    )
    for name, value in pairs:
        if value:
            env[name] = str(Path(value).resolve()) if name != ENV_DB else str(value)
    return env


def wait_until_ready(
    url: str, process: subprocess.Popen | None = None, timeout: float = 60.0
) -> float:
    """Wait until Voila answers its static probe; return the seconds waited.

    Raises
    ------
    ConfigError
        If ``process`` exits first (the port was taken, say) or ``timeout``
        passes.
    """
    probe = url.rstrip("/") + "/" + PROBE
    start = time.monotonic()
    while True:
        if process is not None and process.poll() is not None:
            raise ConfigError(
                f"voila exited with status {process.returncode} before it answered; "
                "is the port taken? Try another one with --port"
            )
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - start > timeout:
            raise ConfigError(f"voila did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


def stop(process: subprocess.Popen, timeout: float = 20.0) -> int | None:
    """Stop a Voila process: SIGTERM (it shuts its kernels down), then, if it
    is still running after ``timeout`` seconds, SIGKILL to its process group
    (it was started in a group of its own). Returns its exit status."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.warning("voila did not stop within %.0f s; killing it", timeout)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return process.wait(5)


def serve(
    port: int = 8866,
    *,
    token: str | None = None,
    data: str | os.PathLike | None = None,
    db: str | None = None,
    matches: str | os.PathLike | None = None,
    registry: str | os.PathLike | None = None,
    notebooks: str | os.PathLike | None = None,
    preheat: bool = False,
    out=None,
) -> int:
    """Run Voila on the dashboards until interrupted; return its exit status.

    Prints the address with the token on the first line, then one line per
    dashboard. See :func:`voila_command` and :func:`zfb.dashboards.load_county`
    for the parameters; ``port`` 0 picks a free port.
    """
    out = out or sys.stdout
    if db:
        db, shown = _store_url(db)
    folder = Path(notebooks) if notebooks else dashboards_dir()
    port = free_port() if port == 0 else port
    token = token or secrets.token_urlsafe(24)
    base = f"http://127.0.0.1:{port}/"
    print(f"{base}?token={token}", file=out, flush=True)
    for d in DASHBOARDS:
        if (folder / d.notebook).is_file():
            print(f"  {d.title} ({d.audience}): {base}{d.path()}", file=out)
    if db:
        print(f"  store: {shown}", file=out)
    elif data:
        print(f"  county: {data}", file=out)
    else:
        print("  county: the sample county (data/sample)", file=out)
    out.flush()
    cmd = voila_command(folder, port=port, preheat=preheat)
    env = dashboard_env(
        data=data, db=db, matches=matches, registry=registry, token=token
    )
    process = subprocess.Popen(cmd, cwd=folder, env=env, start_new_session=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        waited = wait_until_ready(base, process)
        print(f"ready in {waited:.1f} s; Ctrl-C stops the server", file=out, flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(process)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    """SIGTERM handler of ``zfb serve``: stop like Ctrl-C, so that Voila and
    its kernels are stopped too."""
    raise KeyboardInterrupt


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=int,
        default=8866,
        metavar="N",
        help="port on 127.0.0.1 (default 8866; 0 picks a free one)",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="folder with households.csv and projects.csv (and optionally "
        "matches.csv); default the sample county in data/sample",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="read the county from this store and save intake and accepted "
        "matches to it (sqlite:///FILE, postgresql://..., or a file path)",
    )
    p.add_argument(
        "--matches", metavar="FILE", help="matches.csv from zfb match, to show"
    )
    p.add_argument(
        "--registry",
        metavar="FILE",
        help="the registry's households per township (columns township, "
        "households), for the overview's representativeness test",
    )
    p.add_argument(
        "--token",
        help="the token to require (default: a fresh random one, printed); "
        "one given here is seen by every user of the machine in the list of "
        "processes",
    )
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        help="folder of the dashboard notebooks (default notebooks/dashboards)",
    )
    p.add_argument(
        "--preheat",
        action="store_true",
        help="keep one executed kernel ready per dashboard (faster first load; "
        "each pooled kernel shows the data as it was when it started)",
    )


def _store_url(db: str) -> tuple[str, str]:
    """The store's URL for the kernels, and as it may be shown.

    Voila runs in the dashboards' folder, so a SQLite path is made absolute
    here, against the folder ``zfb serve`` was started in; it must name an
    existing store (opening a missing one would make an empty store). The
    shown URL hides a password.

    Raises
    ------
    ConfigError
        If a SQLite store does not exist.
    StoreError
        If the URL cannot be read.
    """
    from ..store.engine import resolve_url

    url = resolve_url(db)
    if url.get_backend_name() == "sqlite" and not Path(url.database).is_file():
        raise ConfigError(
            f"--db {db}: no store at {url.database}; make one with "
            f"`zfb import FILE --db {db}` first"
        )
    return url.render_as_string(hide_password=False), url.render_as_string()


def _run(args: argparse.Namespace) -> int:
    return serve(
        args.port,
        token=args.token,
        data=args.data,
        db=args.db,
        matches=args.matches,
        registry=args.registry,
        notebooks=args.notebooks,
        preheat=args.preheat,
    )


def add_commands(subparsers) -> None:
    """Add ``serve`` to the subparsers of the ``zfb`` command.

    Parameters
    ----------
    subparsers
        What :meth:`argparse.ArgumentParser.add_subparsers` returned. The
        command sets ``func`` to a function of the parsed arguments that
        returns the exit status.
    """
    p = subparsers.add_parser(
        "serve",
        help="serve the dashboards with Voila on 127.0.0.1, behind a token",
        description="Start Voila on 127.0.0.1 with the dashboards of "
        "notebooks/dashboards (overview, matching, custom selection, intake, "
        "profiles). The first line printed is the address with its token; "
        "open it in a browser on this machine (or through an SSH tunnel or a "
        "reverse proxy). Ctrl-C stops the server.",
    )
    _add_arguments(p)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m zfb.dashboards.serve``: the same as ``zfb serve``."""
    parser = argparse.ArgumentParser(
        prog="zfb serve", description="Serve the zfb dashboards with Voila."
    )
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"zfb serve: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
