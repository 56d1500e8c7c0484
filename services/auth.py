"""API keys: who is calling, checked in constant time against hashed keys.

Keys come from ``NEWSDESK_API_KEYS`` (comma separated) and/or ``NEWSDESK_API_KEYS_FILE`` (one a
line, ``#`` comments). Each entry is ``name:secret`` or ``name:sha256:<hex digest>`` (so the
file need not hold the secret itself). Only SHA-256 digests are kept in memory; a presented key
is hashed and compared with every known digest with ``hmac.compare_digest``. The key's name is
the owner of the documents it submits. With no keys configured the API is open and every
document belongs to the anonymous owner ``""``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from services.errors import Unauthorized

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class KeyConfigError(ValueError):
    """The configured keys cannot be used (refused at start-up, naming the entry)."""


@dataclass(frozen=True)
class ApiKeys:
    """The known keys as (digest, owner name) pairs."""

    entries: tuple[tuple[bytes, str], ...] = ()

    @property
    def required(self) -> bool:
        return bool(self.entries)

    def owner_of(self, presented: str) -> str | None:
        """The owner of a presented key, or None; every digest is compared, in constant time."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for known, owner in self.entries:
            if hmac.compare_digest(digest, known):
                found = owner
        return found


def parse_keys(text: str, *, source: str) -> list[tuple[bytes, str]]:
    """Entries of a key list (comma- or line-separated)."""
    entries = []
    for number, raw in enumerate(re.split(r"[,\n]", text), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        name, sep, secret = entry.partition(":")
        if not sep or not _NAME.match(name) or not secret:
            raise KeyConfigError(
                f"{source} entry {number}: expected name:secret or name:sha256:<hex>"
            )
        if secret.startswith("sha256:"):
            digest = secret.removeprefix("sha256:").lower()
            if not _DIGEST.match(digest):
                raise KeyConfigError(f"{source} entry {number}: a sha256 digest is 64 hex digits")
            entries.append((bytes.fromhex(digest), name))
        else:
            if len(secret) < 16:
                raise KeyConfigError(f"{source} entry {number}: a key needs at least 16 characters")
            entries.append((hashlib.sha256(secret.encode()).digest(), name))
    return entries


def load_keys(inline: str, path: Path | None) -> ApiKeys:
    """The keys from the environment's list and the keys file."""
    entries = parse_keys(inline, source="NEWSDESK_API_KEYS") if inline else []
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyConfigError(f"NEWSDESK_API_KEYS_FILE cannot be read: {exc.strerror}") from exc
        entries += parse_keys(text, source="NEWSDESK_API_KEYS_FILE")
    names = [name for _, name in entries]
    if len(set(names)) != len(names):
        raise KeyConfigError("API key names must be unique")
    return ApiKeys(tuple(entries))


async def authenticate(request: Request) -> str:
    """The caller's owner name (a FastAPI dependency of every /v1 route); 401 without a key."""
    keys: ApiKeys = request.app.state.api_keys
    if not keys.required:
        request.state.owner = ""
        return ""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("this API needs a key: send Authorization: Bearer <key>")
    owner = keys.owner_of(presented.strip())
    if owner is None:
        raise Unauthorized("the API key is not valid")
    request.state.owner = owner
    return owner
