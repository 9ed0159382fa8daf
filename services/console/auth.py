"""Passwords, session tokens and CSRF tokens for console operators.

Passwords are hashed with Argon2id (argon2-cffi, its RFC 9106 low-memory profile): the winner of the
Password Hashing Competition and OWASP's first choice. Only a SHA-256 digest of a session token is
stored, so a copy of the console database does not hand out live sessions.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used weaker parameters than today's: rehash at the next login."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password a person can type from a printout: 4 groups of 5 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


# Verifying against this hash when a username is unknown makes "no such user" take as long as a wrong password.
DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))
