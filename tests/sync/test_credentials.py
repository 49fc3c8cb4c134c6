"""The service token: the environment first, else the OS keyring; never in a file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from healthdesk.sync.credentials import (
    KEYRING_SERVICE,
    TOKEN_ENV,
    CredentialsError,
    forget_token,
    normalize_url,
    store_token,
    token_for,
)

SECRET = "s3cr3t-token-value"


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict, for tests."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


class BrokenKeyring(MemoryKeyring):
    """A keyring whose backend fails, as a locked or unreachable Secret Service does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringError("the Secret Service is not running")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the Secret Service is not running")


Install = Callable[[KeyringBackend], None]


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """Install keyring backends during one test; the previous one is restored after."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


@pytest.fixture
def memory(use_keyring: Install) -> MemoryKeyring:
    backend = MemoryKeyring()
    use_keyring(backend)
    return backend


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("HTTPS://Sync.Example.COM:443/api/", "https://sync.example.com/api"),
        ("http://localhost:80/", "http://localhost"),
        ("  https://sync.example.com/?x=1#f ", "https://sync.example.com"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_urls_are_normalized(url: str, normal: str) -> None:
    assert normalize_url(url) == normal


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com", "not an http:// or https:// URL"),
        ("example.com", "not an http:// or https:// URL"),
        ("https://", "has no host"),
        ("https://user:pw@example.com", "must not carry a user name or password"),
        ("http://host:99999", "not a valid URL"),
    ],
)
def test_bad_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_url(url)


def test_the_keyring_keeps_a_token_per_normalized_url(memory: MemoryKeyring) -> None:
    assert token_for("https://sync.example.com") is None
    store_token("https://Sync.Example.com/", SECRET)
    assert memory.passwords == {(KEYRING_SERVICE, "https://sync.example.com"): SECRET}
    assert token_for("https://sync.example.com:443") == SECRET
    assert token_for("https://other.example.com") is None
    assert forget_token("https://sync.example.com") is True
    assert token_for("https://sync.example.com") is None
    assert forget_token("https://sync.example.com") is False


def test_the_environment_comes_first(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_token("https://sync.example.com", SECRET)
    monkeypatch.setenv(TOKEN_ENV, " from-env\n")
    assert token_for("https://sync.example.com") == "from-env"
    monkeypatch.setenv(TOKEN_ENV, "")
    assert token_for("https://sync.example.com") == SECRET


def test_no_keyring_reads_none_and_refuses_to_store(use_keyring: Install) -> None:
    use_keyring(fail.Keyring())
    assert token_for("https://sync.example.com") is None
    with pytest.raises(CredentialsError, match=r"no OS keyring is available.*HEALTHDESK_TOKEN"):
        store_token("https://sync.example.com", SECRET)
    with pytest.raises(CredentialsError, match="no OS keyring"):
        forget_token("https://sync.example.com")


def test_a_broken_keyring_reads_none_and_says_so_when_storing(use_keyring: Install) -> None:
    use_keyring(BrokenKeyring())
    assert token_for("https://sync.example.com") is None
    with pytest.raises(CredentialsError, match="refused to store") as caught:
        store_token("https://sync.example.com", SECRET)
    assert SECRET not in str(caught.value)


def test_an_empty_token_is_not_stored(memory: MemoryKeyring) -> None:
    for bad in ("", " padded "):
        with pytest.raises(CredentialsError, match="empty or has spaces"):
            store_token("https://sync.example.com", bad)
    assert memory.passwords == {}


def test_the_token_is_never_written_to_a_file(
    memory: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    store_token("https://sync.example.com", SECRET)
    assert token_for("https://sync.example.com") == SECRET
    assert list(tmp_path.rglob("*")) == []
