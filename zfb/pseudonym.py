"""National ID numbers: checking them and turning them into keyed pseudonyms.

A household's national ID number (居民身份证号码, GB 11643-1999) is checked and
replaced at read time by a keyed hash, ``HMAC-SHA256(key, id)``, so that the
same household gets the same ``household_id`` in every file read with the same
key, while nobody without the key can recover the number or test a guess. An
unsalted hash of an ID number would be reversible by enumeration: the space of
valid numbers is small.

The key comes from the ``ZFB_SECRET`` environment variable or from the
``[pseudonym] secret`` entry of the configuration file (``ZFB_CONFIG``, default
``~/.config/zfb/config.toml``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import tomllib
import unicodedata
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "check_id_number",
    "config_path",
    "load_secret",
    "mask",
    "pseudonymize",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
#: Characters of the keyed hash kept in a pseudonym: 80 bits, so that
#: collisions stay below one in a million up to 10**9 households.
PSEUDONYM_HEX = 20


def config_path() -> Path:
    """Path of the configuration file (``ZFB_CONFIG`` or the default)."""
    env = os.environ.get("ZFB_CONFIG")
    if env:
        return Path(env)
    return Path.home() / ".config" / "zfb" / "config.toml"


def load_secret(secret: str | bytes | None = None) -> bytes:
    """Return the pseudonym key.

    Parameters
    ----------
    secret : str or bytes, optional
        Given directly; otherwise ``ZFB_SECRET``, then the configuration file.

    Raises
    ------
    ConfigError
        If no key is set, or it is shorter than 16 characters.
    """
    if secret is None:
        secret = os.environ.get("ZFB_SECRET")
    if secret is None:
        path = config_path()
        if path.is_file():
            try:
                conf = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: not a valid TOML file: {exc}") from None
            section = conf.get("pseudonym", {})
            secret = section.get("secret") if isinstance(section, dict) else None
            if secret is not None and not isinstance(secret, str):
                raise ConfigError(
                    f"{path}: [pseudonym] secret must be a quoted string, not "
                    f"{type(secret).__name__}"
                )
    if not secret:
        raise ConfigError(
            "national ID numbers need a pseudonym key: set the ZFB_SECRET "
            "environment variable (at least 16 characters, kept private and the "
            'same for every file of a county), or put `secret = "..."` under '
            f"[pseudonym] in {config_path()}"
        )
    if not isinstance(secret, (str, bytes)):
        raise ConfigError("the pseudonym key must be a string")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(key) < 16:
        raise ConfigError(
            "the pseudonym key (ZFB_SECRET) must be 16 characters or more"
        )
    return key


def mask(value: object) -> str:
    """Mask a personal value for an error message: keep only its length."""
    text = "" if value is None else str(value)
    return f"<{len(text)} characters, masked>" if text else ""


def _normalize(value: str) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().upper()


def check_id_number(value: str, today: _dt.date | None = None) -> str | None:
    """Check a national ID number and return what is wrong with it, or None.

    The rules are those of GB 11643-1999: 18 characters, 17 digits then a
    digit or ``X``; an existing birth date (YYYYMMDD at positions 7-14) not in
    the future and not before 1900; the ISO 7064 MOD 11-2 check character.
    A legacy 15-digit number (birth date YYMMDD, 19YY) is accepted.

    Returns
    -------
    str or None
        A plain-language rule that is broken, or ``None`` if the number is valid.

    References
    ----------
    .. [1] GB 11643-1999, 公民身份号码 (Citizen identification number).
    """
    text = _normalize(value)
    today = today or _dt.date.today()
    if not text.isascii():
        return "an ID number has the digits 0-9 and X only"
    if len(text) == 15:
        if not text.isdigit():
            return "a 15-digit ID number has digits only"
        birth = "19" + text[6:12]
    elif len(text) == 18:
        if not (text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
            return "an ID number is 17 digits followed by a digit or X"
        birth = text[6:14]
    else:
        return f"an ID number has 18 characters (or 15 for old ones), not {len(text)}"
    try:
        born = _dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return "the birth date in the ID number (positions 7-14) does not exist"
    if born > today or born.year < 1900:
        return "the birth date in the ID number is in the future or before 1900"
    if len(text) == 18:
        total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
        if _CHECK[total % 11] != text[17]:
            return "the check character (last) of the ID number is wrong"
    return None


def _to_18(text: str) -> str:
    if len(text) == 18:
        return text
    body = text[:6] + "19" + text[6:]
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


def pseudonymize(id_number: str, key: bytes, prefix: str = "P") -> str:
    """Return the keyed pseudonym of a (valid) national ID number.

    A 15-digit number gets the pseudonym of its 18-digit form, so a household
    keeps its pseudonym when its number is upgraded.

    Parameters
    ----------
    id_number : str
        A number that :func:`check_id_number` accepts.
    key : bytes
        From :func:`load_secret`.
    prefix : str, default "P"
        Put before the hexadecimal digest.

    Returns
    -------
    str
        ``prefix`` followed by 20 lower-case hexadecimal characters.
    """
    text = _to_18(_normalize(id_number))
    digest = hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()
    return prefix + digest[:PSEUDONYM_HEX]
