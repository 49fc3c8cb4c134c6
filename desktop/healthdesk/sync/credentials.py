"""The sync service's token: from HEALTHDESK_TOKEN, or kept in the OS keyring per service.

The token is never written to a file of ours, never logged and never put in a message.
Keyring entries are keyed by the service's normalized URL (`normalize_url`), the same key
under which the store keeps the service's feed cursors.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

import keyring
import keyring.errors

#: The environment variable that, when set, gives the token for every service.
TOKEN_ENV = "HEALTHDESK_TOKEN"
#: The keyring's service name; the username is the service's normalized URL.
KEYRING_SERVICE = "healthdesk"

_log = logging.getLogger(__name__)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CredentialsError(Exception):
    """The token could not be stored or removed (most often: no OS keyring here)."""


def normalize_url(url: str) -> str:
    """The canonical form of a service's base URL: the key of its token and cursors.

    Scheme and host lower-cased, the default port dropped, no trailing slash, no query or
    fragment: `HTTPS://Sync.Example.com:443/api/` -> `https://sync.example.com/api`.
    Raises ValueError for anything that is not an http(s) URL with a host, and for a URL
    that carries a user name or password (tokens do not belong in URLs).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "the service URL must not carry a user name or password; "
            f"give the token through {TOKEN_ENV} or the keyring"
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"{text!r} has no host name")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def token_for(url: str) -> str | None:
    """The token to use for the service at `url`: HEALTHDESK_TOKEN first, else the keyring.

    None when neither has one, and when the keyring cannot be read (no backend on a
    server, a locked or broken keyring): reading never fails because of the keyring.
    """
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env
    key = normalize_url(url)
    try:
        token = keyring.get_password(KEYRING_SERVICE, key)
    except Exception as exc:  # any backend's failure: no token rather than a crash
        _log.info("cannot read the token of %s from the keyring: %s", key, type(exc).__name__)
        return None
    return token or None


def store_token(url: str, token: str) -> None:
    """Keep `token` for the service at `url` in the OS keyring (replacing any other).

    Raises CredentialsError when no usable keyring is available or it refuses the token.
    """
    key = normalize_url(url)
    if not token or token != token.strip():
        raise CredentialsError("the token is empty or has spaces around it")
    backend = keyring.get_keyring()
    if _is_no_keyring(backend):
        raise CredentialsError(_no_keyring_message())
    try:
        keyring.set_password(KEYRING_SERVICE, key, token)
        kept = keyring.get_password(KEYRING_SERVICE, key)
    except keyring.errors.NoKeyringError:
        raise CredentialsError(_no_keyring_message()) from None
    except Exception as exc:  # any backend's failure; its text never holds the token
        raise CredentialsError(
            f"the OS keyring refused to store the token for {key}: {type(exc).__name__}: {exc}"
        ) from None
    if kept != token:
        raise CredentialsError(
            f"the OS keyring ({type(backend).__name__}) did not keep the token for {key}; "
            f"set {TOKEN_ENV} instead"
        )


def forget_token(url: str) -> bool:
    """Remove the keyring's token for the service at `url`; False when there was none.

    Raises CredentialsError when the keyring is unavailable or refuses.
    """
    key = normalize_url(url)
    backend = keyring.get_keyring()
    if _is_no_keyring(backend):
        raise CredentialsError(_no_keyring_message())
    try:
        keyring.delete_password(KEYRING_SERVICE, key)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.NoKeyringError:
        raise CredentialsError(_no_keyring_message()) from None
    except Exception as exc:
        raise CredentialsError(
            f"the OS keyring refused to remove the token for {key}: {type(exc).__name__}: {exc}"
        ) from None
    return True


def _is_no_keyring(backend: object) -> bool:
    """Whether `backend` is one of keyring's stand-ins that keep nothing."""
    from keyring.backends import fail, null

    return isinstance(backend, fail.Keyring | null.Keyring)


def _no_keyring_message() -> str:
    return (
        "no OS keyring is available here (no Secret Service, KWallet, macOS Keychain or "
        f"Windows Credential Locker); set {TOKEN_ENV} in the environment instead"
    )
