"""Readers' passwords for the web page: argon2id hashes made and checked with
argon2-cffi, stored through storage (one row per reader).

A password never leaves this module: it is not stored, logged or returned. Checking
an unknown reader costs as much as checking a known one, so timing does not tell
which readers have a password.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracker.errors import UsageError
from tracker.storage import Storage

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps a request from costing much


class Accounts:
    def __init__(self, storage: Storage, clock: Callable[[], dt.datetime]) -> None:
        self.storage = storage
        self.clock = clock
        self.hasher = PasswordHasher()  # argon2id with the library's current parameters
        self._dummy: str | None = None

    def set_password(self, reader: str, password: str) -> None:
        if len(password) < MIN_LENGTH:
            raise UsageError(f"a password needs at least {MIN_LENGTH} characters")
        if len(password) > MAX_LENGTH:
            raise UsageError(f"a password may have at most {MAX_LENGTH} characters")
        self.storage.set_password_hash(reader, self.hasher.hash(password), self.clock())

    def check(self, reader: str, password: str) -> bool:
        """Whether the password is the reader's; rehashes it when the library's
        parameters have grown since it was set."""
        if len(password) > MAX_LENGTH:
            return False
        stored = self.storage.password_hash(reader)
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_hex(16))
            with contextlib.suppress(VerificationError):
                self.hasher.verify(self._dummy, password)
            return False
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if self.hasher.check_needs_rehash(stored):
            self.storage.set_password_hash(reader, self.hasher.hash(password), self.clock())
        return True

    def stamp(self, reader: str) -> str | None:
        """A short fingerprint of the reader's current hash: a session carries it, so a
        new password (or a removed one) ends every earlier sign-in."""
        stored = self.storage.password_hash(reader)
        return hashlib.sha256(stored.encode()).hexdigest()[:20] if stored else None
