"""The keys that protect personal data at rest: the subject key and the data keys.

- **Subject key** (`LENDMATCH_SUBJECT_KEY`): a person's applications are found by
  `subject_hash(national_id)`, an HMAC-SHA256 of the normalised national id under this key.
  Without the key a copy of the database cannot be searched for a known national id (a
  plain hash could be, by trying every birth date and serial number).
- **Data keys** (`LENDMATCH_DATA_KEYS`, `id1:base64key,id2:base64key`, AES-256): each
  personal payload is sealed with AES-GCM under the first key; the key id is stored with the
  payload, so older keys stay listed until `lendmatch keys rotate-data-key` has re-sealed
  everything under the first. A sealed value is `base64(nonce | ciphertext | tag)`; the
  associated data is the application id, so a payload moved to another application does not
  open.

The development keys below are public (they are in this file): fine for tests and demos,
refused by the service in production mode (`broker.settings`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from audit.errors import DataKeyError
from audit.random_pool import random_bytes

DEVELOPMENT_SUBJECT_KEY = "lendmatch-development-subject-key-not-for-production"
DEVELOPMENT_DATA_KEYS = "dev1:" + base64.b64encode(b"lendmatch-development-data-key!!").decode()
_KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_NONCE_BYTES = 12
MIN_SUBJECT_KEY_LENGTH = 32
_HMAC_BLOCK = 64  # SHA-256's block size, in bytes
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def _data_key(text: str) -> tuple[str, bytes]:
    key_id, sep, encoded = text.strip().partition(":")
    if not sep or not key_id or len(key_id) > 32 or not set(key_id) <= _KEY_ID_CHARS:
        raise DataKeyError(
            "LENDMATCH_DATA_KEYS",
            "each key is `id:base64key`, the id 1-32 letters, digits, '_', '-' or '.'",
        )
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise DataKeyError("LENDMATCH_DATA_KEYS", f"key {key_id}: not base64") from None
    if len(key) != 32:
        raise DataKeyError("LENDMATCH_DATA_KEYS", f"key {key_id}: must be 32 bytes (AES-256)")
    return key_id, key


@dataclass(frozen=True)
class PersonalKeys:
    """The subject key and the data keys (the first seals, every one opens)."""

    subject_key: bytes
    data_keys: tuple[tuple[str, bytes], ...]
    # Made once per set of keys, not per value: the subject key's HMAC inner and outer hash
    # states (OpenSSL's HMAC set-up costs more than its two hashes), the sealing cipher.
    _hmac_states: tuple[hashlib._Hash, hashlib._Hash] = field(init=False, repr=False, compare=False)
    _sealer: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.data_keys:
            raise DataKeyError("LENDMATCH_DATA_KEYS", "names no key")
        key = self.subject_key
        if len(key) > _HMAC_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_HMAC_BLOCK, b"\0")
        states = hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))
        object.__setattr__(self, "_hmac_states", states)
        object.__setattr__(self, "_sealer", AESGCM(self.data_keys[0][1]))

    def __reduce__(self) -> tuple[type[PersonalKeys], tuple[bytes, tuple[tuple[str, bytes], ...]]]:
        """Pickled (and copied) as its keys: the hash states and the cipher are made again."""
        return PersonalKeys, (self.subject_key, self.data_keys)

    @classmethod
    def from_text(cls, subject_key: str, data_keys: str) -> PersonalKeys:
        """Keys from their settings' text; `DataKeyError` naming the setting if malformed."""
        if len(subject_key) < MIN_SUBJECT_KEY_LENGTH:
            raise DataKeyError(
                "LENDMATCH_SUBJECT_KEY", f"must be at least {MIN_SUBJECT_KEY_LENGTH} characters"
            )
        keys = tuple(_data_key(part) for part in data_keys.split(",") if part.strip())
        if not keys:
            raise DataKeyError("LENDMATCH_DATA_KEYS", "names no key")
        if len({key_id for key_id, _ in keys}) != len(keys):
            raise DataKeyError("LENDMATCH_DATA_KEYS", "names a key id twice")
        return cls(subject_key.encode(), keys)

    @classmethod
    def development(cls) -> PersonalKeys:
        """The public development keys (tests, demos)."""
        return cls.from_text(DEVELOPMENT_SUBJECT_KEY, DEVELOPMENT_DATA_KEYS)

    def development_keys_in_use(self) -> list[str]:
        """The settings that still hold a development key (the service refuses them in
        production mode)."""
        development = PersonalKeys.development()
        found: list[str] = []
        if hmac.compare_digest(self.subject_key, development.subject_key):
            found.append("LENDMATCH_SUBJECT_KEY")
        dev_keys = {key for _, key in development.data_keys}
        if any(key in dev_keys for _, key in self.data_keys):
            found.append("LENDMATCH_DATA_KEYS")
        return found

    @property
    def current_key_id(self) -> str:
        """The id of the key new payloads are sealed with."""
        return self.data_keys[0][0]

    def subject_hash(self, normalised_national_id: str) -> str:
        """The keyed hash (HMAC-SHA256, hex) a person is found by."""
        return self.subject_hashes((normalised_national_id,))[0]

    def subject_hashes(self, normalised_national_ids: Iterable[str]) -> list[str]:
        """`subject_hash` of each id: HMAC-SHA256 as RFC 2104 defines it, from the key's
        inner and outer hash states (made once, copied for each id); a property test keeps
        it equal to the standard library's HMAC."""
        inner, outer = self._hmac_states
        found: list[str] = []
        for number in normalised_national_ids:
            digest = inner.copy()
            digest.update(number.encode())
            keyed = outer.copy()
            keyed.update(digest.digest())
            found.append(keyed.hexdigest())
        return found

    def seal(self, clear: str, context: str) -> tuple[str, str]:
        """`clear` sealed under the current key, bound to `context` (the application id):
        (key id, sealed text)."""
        key_id = self.data_keys[0][0]
        nonce = random_bytes(_NONCE_BYTES)
        sealed = self._sealer.encrypt(nonce, clear.encode(), context.encode())
        return key_id, base64.b64encode(nonce + sealed).decode()

    def open(self, key_id: str, sealed: str, context: str) -> str:
        """The clear text of a sealed value; `DataKeyError` if its key is not configured or
        it does not open (changed, or sealed for another context)."""
        key = dict(self.data_keys).get(key_id)
        if key is None:
            raise DataKeyError("LENDMATCH_DATA_KEYS", f"has no key {key_id!r}")
        try:
            raw = base64.b64decode(sealed, validate=True)
            clear = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (binascii.Error, InvalidTag, ValueError):
            raise DataKeyError(
                "personal data", f"a value sealed under key {key_id!r} does not open"
            ) from None
        return clear.decode()
