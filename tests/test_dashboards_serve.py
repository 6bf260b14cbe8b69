"""``zfb serve``: its Voila command line, and a real server started and stopped."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from zfb.dashboards.data import ENV_DATA, ENV_DB
from zfb.dashboards.serve import (
    DASHBOARDS,
    add_commands,
    dashboard_env,
    dashboards_dir,
    free_port,
    voila_command,
    wait_until_ready,
)


def test_voila_listens_on_loopback_with_a_token_and_a_fixed_port():
    cmd = voila_command("nb", port=8123)
    assert "--Voila.ip=127.0.0.1" in cmd
    assert "--port=8123" in cmd
    assert "--Voila.port_retries=0" in cmd
    assert "--Voila.auto_token=True" in cmd  # a token is required
    assert "--show_tracebacks=False" in cmd
    assert not any("preheat" in c for c in cmd)
    assert "--preheat_kernel=True" in voila_command("nb", port=1, preheat=True)


def test_the_token_is_given_to_voila_in_its_environment_not_its_arguments():
    # the arguments of a process are in every user's `ps`: a token there let
    # anyone on the machine open the dashboards
    cmd = voila_command("nb", port=8123)
    assert not any(c.startswith(("--token", "--Voila.token=")) for c in cmd)
    env = dashboard_env({"JUPYTER_TOKEN_FILE": "/x"}, token="secret-token")
    assert env["JUPYTER_TOKEN"] == "secret-token"
    assert "JUPYTER_TOKEN_FILE" not in env
    with pytest.raises(ValueError, match="token"):
        dashboard_env({}, token="")


def test_kernels_inherit_the_county_and_no_mplbackend(tmp_path):
    env = dashboard_env({"MPLBACKEND": "Agg", "PATH": "/bin"}, data=tmp_path, db=None)
    assert "MPLBACKEND" not in env
    assert env[ENV_DATA] == str(tmp_path.resolve())
    assert ENV_DB not in env
    env = dashboard_env({}, db="sqlite:///x.sqlite")
    assert env[ENV_DB] == "sqlite:///x.sqlite"


def test_every_listed_dashboard_is_a_thin_notebook_on_python3():
    folder = dashboards_dir()
    for d in DASHBOARDS:
        nb = nbformat.read(folder / d.notebook, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", d.notebook
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert len(code) <= 4, f"{d.notebook}: dashboards keep their logic in zfb"
        assert "import" in code[0].source
        assert not (folder / "voila.json").exists()


def test_serve_command_is_added_to_a_parser():
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--port", "9001", "--db", "sqlite:///a"])
    assert args.port == 9001 and args.db == "sqlite:///a" and callable(args.func)


def _get(url: str) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=120) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and theirs (Linux's /proc)."""
    if not os.path.isdir("/proc"):
        return []
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _lines(stream) -> queue.Queue:
    """The lines of ``stream``, read by a thread (so a test never blocks)."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in stream:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_serve_prints_the_address_first_and_stops_cleanly(tmp_path):
    port = free_port()
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    with open(tmp_path / "voila.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "zfb.dashboards.serve", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    lines = _lines(process.stdout)
    try:
        first = lines.get(timeout=60)
        base = f"http://127.0.0.1:{port}/"
        assert first.startswith(f"{base}?token=")
        token = first.split("token=", 1)[1]
        assert len(token) >= 24
        listed = [lines.get(timeout=10) for _ in DASHBOARDS]
        for d, line in zip(DASHBOARDS, listed, strict=True):
            assert f"{base}{d.path()}" in line
        wait_until_ready(base, process, timeout=90)
        for pid in _descendants(process.pid):
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                assert token.encode() not in fh.read(), "the token is in ps"
        page = f"{base}{DASHBOARDS[0].path()}"
        assert _get(page)[0] in (302, 403)  # no token: sent to the login page
        # every dashboard runs on the sample county without an error
        urls = [f"{base}{d.path()}?token={token}" for d in DASHBOARDS]
        with ThreadPoolExecutor(len(urls)) as pool:
            pages = list(pool.map(_get, urls))
        for d, (status, html) in zip(DASHBOARDS, pages, strict=True):
            assert status == 200, d.notebook
            assert "application/vnd.jupyter.stderr" not in html, d.notebook
            assert "import" not in html.split("<body", 1)[-1], "sources shown"
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(30)
    assert status == 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}voila/static/voila.js", timeout=5)


def test_a_relative_store_path_is_the_users_and_must_exist(tmp_path, monkeypatch):
    # Voila runs in the dashboards' folder: a relative --db made an empty
    # store there and served nothing
    from zfb.cli import main
    from zfb.dashboards.serve import _store_url
    from zfb.store import open_store

    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--db", "county.sqlite", "--port", "0"]) == 2
    assert not (dashboards_dir() / "county.sqlite").exists()
    assert not (tmp_path / "county.sqlite").exists()
    with open_store("county.sqlite"):
        pass
    url, shown = _store_url("county.sqlite")
    assert url == f"sqlite:///{tmp_path / 'county.sqlite'}" == shown
    url, shown = _store_url("postgresql://zfb:s3cret@127.0.0.1:5432/county")
    assert "s3cret" in url and "s3cret" not in shown


def test_kernels_talk_to_voila_over_private_sockets():
    assert "--KernelManager.transport=ipc" in voila_command("nb", port=8123)
