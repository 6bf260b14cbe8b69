"""The result files of one run, written as a set.

A run of ``zfb match`` writes several tables (``matches.csv``,
``unmatched.csv``, ``projects.csv``, ``edges.csv`` ...) into one folder. A
reader must never find the matches of one run beside the edges of another,
nor the ``progress.csv`` of an earlier crowdfunding run beside the matches of
a later single-mode one. :func:`write_run` therefore

1. writes every table into a hidden staging folder inside the output folder
   (a failure here leaves the folder as it was);
2. then, under a lock on the folder, moves the files of the previous run
   aside, moves the new ones in, and removes the previous run's files that
   this run did not write (only files named in the previous ``run.json``);
   a failure here puts the previous files back;
3. writes ``run.json`` last: an id of the run, what wrote the files, when,
   from which inputs (file names and SHA-256 digests, never paths), and each
   file's digest.

Other files in the folder are left alone. A run killed outright (SIGKILL)
leaves at most its hidden staging folder; the next run in the folder removes
it, and if the kill came in the middle of the swap, first puts the previous
run's files back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .io import write_table

__all__ = ["MANIFEST", "file_digest", "read_manifest", "write_run"]

logger = logging.getLogger(__name__)

#: Name of the manifest a run writes beside its tables.
MANIFEST = "run.json"
_STAGING = ".zfb-run-"


def file_digest(path: str | PathLike) -> str:
    """SHA-256 of a file's bytes, as hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: str | PathLike) -> dict[str, Any] | None:
    """The ``run.json`` of a folder, or None when there is none or it is not
    a manifest this module wrote."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    return manifest


def write_run(
    tables: Mapping[str, pd.DataFrame],
    out: str | PathLike,
    *,
    about: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the tables of one run into ``out``, all of them or none.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        File name (``matches.csv``; ``.csv`` or ``.xlsx``) to table, in the
        order to write them.
    out : str or path-like
        The output folder; made if missing.
    about : mapping, optional
        What to record in ``run.json`` beside the files (the command, its
        options, the digests of its inputs); JSON-serialisable values.

    Returns
    -------
    list of Path
        The tables written, in the order given, then ``run.json``.

    Raises
    ------
    InputError
        If ``out`` is a file, or a table's name is taken by a folder in it.
    OSError
        If a file cannot be written; the folder then holds what it held.

    Notes
    -----
    The files are swapped in by renames within one folder, under an
    exclusive lock on the folder (``fcntl.flock``) where the system has one,
    so that two runs into one folder leave the set of one of them.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    for name in tables:
        if Path(name).name != name or name == MANIFEST:
            raise ValueError(f"not a plain table file name: {name!r}")
        if (out / name).is_dir():
            raise InputError(f"--out {out}: {name} is a folder; remove or rename it")
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _recover_abandoned(out)
    staging = out / f"{_STAGING}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        # stage
        for name, df in tables.items():
            write_table(df, staging / name)
        manifest = {
            "run": secrets.token_hex(8),
            "zfb": _version(),
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **(about or {}),
            "files": {
                name: {"sha256": file_digest(staging / name), "rows": len(df)}
                for name, df in tables.items()
            },
        }
        text = json.dumps(_plain(manifest), ensure_ascii=False, indent=2)
        (staging / MANIFEST).write_text(text + "\n", encoding="utf-8")

        # swap
        with _locked(out):
            _swap(staging, out, [*tables, MANIFEST])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %d tables to %s", len(tables), out)
    return [out / name for name in tables] + [out / MANIFEST]


def _swap(staging: Path, out: Path, names: list[str]) -> None:
    """Move the previous run's files into ``staging/.old`` and the staged
    ``names`` into ``out``; on any error, undo."""
    previous = read_manifest(out)
    stale = [
        n
        for n in (previous or {}).get("files", {})
        if isinstance(n, str) and Path(n).name == n and n not in names
    ]
    old = staging / ".old"
    old.mkdir()
    moved_aside: list[str] = []
    moved_in: list[str] = []
    try:
        for name in [*names, *stale]:
            if (out / name).is_file():
                os.replace(out / name, old / name)
                moved_aside.append(name)
        for name in names:
            os.replace(staging / name, out / name)
            moved_in.append(name)
    except BaseException:
        for name in moved_in:
            with contextlib.suppress(OSError):
                (out / name).unlink()
        for name in moved_aside:
            with contextlib.suppress(OSError):
                os.replace(old / name, out / name)
        raise
    if stale:
        logger.info("removed %s of the previous run", ", ".join(stale))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (no lock file is left)."""
    try:
        import fcntl
    except ImportError:  # no flock on this system: renames only
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _recover_abandoned(folder: Path) -> None:
    """Undo what runs killed outright (SIGKILL) left; call under the lock.

    A staging folder whose process has ended is removed. If that run was
    killed while swapping its files in (its ``run.json`` is still staged,
    since it goes in last), the files it had moved in are removed and the
    previous run's files, set aside in its ``.old`` folder, are put back.
    """
    for path in sorted(folder.glob(f"{_STAGING}*")):
        try:
            pid = int(path.name[len(_STAGING) :].split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid() or _alive(pid) or not path.is_dir():
            continue
        staged = read_manifest(path)
        old = path / ".old"
        if staged is not None and old.is_dir():
            for name in staged["files"]:
                if Path(name).name == name and not (path / name).exists():
                    with contextlib.suppress(OSError):
                        (folder / name).unlink()  # moved in before the kill
            for kept in old.iterdir():
                os.replace(kept, folder / kept.name)
            logger.warning(
                "%s: a run was killed while writing its files; the previous "
                "run's files are back",
                folder,
            )
        logger.info("removing %s, left by an interrupted run", path.name)
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there: keep the folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _plain(value: Any) -> Any:
    """``value`` as strict JSON can hold it: NaN and infinities become None,
    dates and other objects their text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        number = float(value)  # numpy scalars
    except (TypeError, ValueError):
        return str(value)
    return _plain(number if not float(number).is_integer() else int(number))


def _version() -> str:
    from . import __version__

    return __version__
