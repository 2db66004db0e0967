"""Canonical JSON: the one text form of everything lendmatch hashes.

Used for the ruleset snapshot (whose SHA-256 is the ruleset hash), the chain's payload digest
and the stored feature and outcome columns, the personal payload, and the request digest that
makes idempotent retries safe. Equal data gives equal text, byte for byte:

- objects: keys sorted by code point (Python's `sort_keys`), at every depth;
- separators: `,` between items and `:` after keys, no whitespace anywhere;
- strings: non-ASCII characters written as themselves (UTF-8 when encoded), not `\\uXXXX`;
  the JSON escapes `\\"`, `\\\\`, `\\n`, `\\r`, `\\t`, `\\b`, `\\f` and `\\u00XX` for other
  control characters;
- numbers: integers in decimal; floats in Python's shortest round-trip form (`0.1`, `1e+16`,
  `5.0`); +inf and -inf as `Infinity` and `-Infinity` (the feature debt_to_income is +inf
  for an applicant without income); NaN is refused (`ValueError`);
- a string (or key) with a lone surrogate (`"\\ud800"`) is refused (`ValueError`): it is not
  Unicode text and has no UTF-8 form;
- `true`, `false`, `null`; tuples are written as arrays.

`canonical_bytes` is the UTF-8 encoding of that text and `digest` its SHA-256 in hex.
Records hashed by lendmatch 0.1 used `\\uXXXX` escapes in the chain payload; every field of
that payload is ASCII (ids, hashes, dates, enum values and the feature and outcome texts), so
both forms give the same bytes there and old logs still verify.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def canonical_json(value: Any) -> str:
    """`value` as canonical JSON text (see the module doc); `ValueError` on NaN or a lone
    surrogate."""
    refused = _refused(value)
    if refused is not None:
        raise ValueError(f"{refused} has no canonical JSON form")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of `canonical_json(value)`."""
    return canonical_json(value).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def sha256_hex(text: str) -> str:
    """SHA-256 (hex) of `text` encoded as UTF-8 (for texts already in canonical form)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _refused(value: Any) -> str | None:
    """What in `value` has no canonical form (NaN, a lone surrogate), or None."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else None
    if isinstance(value, str):
        return None if _is_text(value) else f"the string {value!r} (a lone surrogate)"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _refused(k) or _refused(v)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for v in value:
            found = _refused(v)
            if found is not None:
                return found
    return None


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
