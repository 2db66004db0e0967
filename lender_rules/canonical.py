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
  `5.0`); NaN is refused (`ValueError`);
- +inf and -inf, which JSON has no number for, as the strings `"Infinity"` and `"-Infinity"`
  (the form of the Protocol Buffers JSON mapping, and the one the API's reason values use):
  the feature debt_to_income is +inf for an applicant without income. So canonical text is
  always valid JSON (PostgreSQL's jsonb reads it). A reader that knows a value is a number
  turns those two strings back into floats with `restore_infinities`;
- a string (or key) with a lone surrogate (`"\\ud800"`) is refused (`ValueError`): it is not
  Unicode text and has no UTF-8 form;
- `true`, `false`, `null`; tuples are written as arrays.

`canonical_bytes` is the UTF-8 encoding of that text and `digest` its SHA-256 in hex.
Records hashed by lendmatch 0.1 used `\\uXXXX` escapes in the chain payload; every field of
that payload is ASCII (ids, hashes, dates, enum values and the feature and outcome texts), so
both forms give the same bytes there and old logs still verify. Releases up to 0.1 also wrote
+inf in stored feature rows as the bare `Infinity` of Python's `json` (not JSON): those rows
are hashed as the text they are stored as, so they keep verifying, and Python's `json.loads`
still reads them.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

INFINITIES: dict[str, float] = {"Infinity": math.inf, "-Infinity": -math.inf}
"""The canonical text of the two infinite floats, as JSON strings."""


def canonical_json(value: Any) -> str:
    """`value` as canonical JSON text (see the module doc); `ValueError` on NaN or a lone
    surrogate.

    Written by `json`'s encoder (in C) as it is first: only a value holding an infinite
    float (which the encoder refuses) or a lone surrogate (which it writes, and which the
    text's UTF-8 encoding then refuses) is walked first by `_canonical`, which writes the
    infinities as their strings and refuses the rest. Everything else `_canonical` leaves
    as it is, so both ways give the same text."""
    try:
        text = _ENCODER.encode(value)
    except ValueError:  # an infinite float or NaN
        return _ENCODER.encode(_canonical(value))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: refused, naming the string
            return _ENCODER.encode(_canonical(value))
    return text


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def restore_infinities(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row read from canonical JSON whose text values are never `"Infinity"` or
    `"-Infinity"` (a feature row: its texts are codes of closed lists), with those two strings
    turned back into the floats they stand for."""
    return {
        name: INFINITIES[value] if isinstance(value, str) and value in INFINITIES else value
        for name, value in row.items()
    }


def canonical_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of `canonical_json(value)`."""
    return canonical_json(value).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def sha256_hex(text: str) -> str:
    """SHA-256 (hex) of `text` encoded as UTF-8 (for texts already in canonical form)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    """`value` with every infinite float as its string; `ValueError` on NaN or on a string
    (or key) with a lone surrogate."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            raise ValueError("NaN has no canonical JSON form")
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k) if isinstance(k, str) else k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _text(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"the string {value!r} (a lone surrogate) has no canonical JSON form"
            ) from None
    return value
