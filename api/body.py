"""Reading a request's JSON body, the one way every route with a body reads it.

`json_body` refuses, before anything is decided or stored:

- a body not declared as JSON (no `Content-Type`, or not `application/json` nor `*/*+json`),
  or declared in a charset other than UTF-8: 415 `unsupported_media_type`;
- bytes that are not UTF-8, or text that is not JSON (`NaN`, `Infinity` and numbers too
  large for a double included; nesting too deep for the parser): 400 `malformed_json`, the
  problem's message saying where;
- an object with a key given twice (`{"market": "SE", "market": "NO"}`), which JSON parsers
  settle differently (most keep the last): 422, one problem per repeated key, at its path;
- a string holding a lone UTF-16 surrogate (`"\\ud800"`), which no UTF-8 text can hold:
  422 at its path.

`validated` then checks the data against a pydantic model; its problems are located under
`body` (`body.applicant.national_id`). The body's size is bounded before all this by the
body-limit middleware (`api.middleware`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from email.message import Message
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.errors import UnsupportedMediaTypeError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[str | int, ...]

UTF8_NAMES = frozenset({"utf-8", "utf8"})
PLAIN_JSON = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)
"""Content types (lower case) `check_media_type` accepts at once; the full check accepts
them too (tests/api/test_fast_path.py)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


async def json_body(request: Request) -> Any:
    """The request's body as JSON data, checked as the module doc says."""
    check_media_type(request.headers.get("content-type"))
    return parse_json(await request.body())


def check_media_type(content_type: str | None) -> None:
    """Raise `UnsupportedMediaTypeError` unless `content_type` declares JSON in UTF-8."""
    if not content_type:
        raise UnsupportedMediaTypeError("The body has no Content-Type: send application/json.")
    if content_type.lower() in PLAIN_JSON:
        return  # what nearly every client sends: accepted without parsing the header
    header = Message()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    if header.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        raise UnsupportedMediaTypeError("The body must be JSON (Content-Type: application/json).")
    charset = header.get_param("charset")
    if charset is not None and (not isinstance(charset, str) or charset.lower() not in UTF8_NAMES):
        raise UnsupportedMediaTypeError("The body must be UTF-8 (charset=utf-8, or no charset).")


class _Repeated(dict[str, Any]):
    """A JSON object in which some keys were given more than once (`repeated`)."""

    repeated: tuple[str, ...] = ()


def parse_json(raw: bytes) -> Any:
    """Parse UTF-8 JSON, refusing what the module doc lists (as `RequestValidationError`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(
            f"not UTF-8: byte {exc.start} cannot start or continue a character"
        ) from None
    repeated = False

    def object_of(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        repeated = True
        marked = _Repeated(obj)
        keys = [key for key, _ in pairs]
        marked.repeated = tuple(sorted({key for key in keys if keys.count(key) > 1}))
        return marked

    try:
        data = json.loads(
            text,
            object_pairs_hook=object_of,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise _malformed(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _NotJsonError as exc:
        raise _malformed(str(exc)) from None
    except RecursionError:
        raise _malformed("nested too deeply") from None
    problems: list[dict[str, Any]] = []
    if repeated:
        problems += [
            {"type": "duplicate_key", "loc": ("body", *loc), "msg": "this key is given twice"}
            for loc in _repeated_keys(data, ())
        ]
    if _SURROGATE_ESCAPE.search(text):
        problems += [
            {"type": "string_unicode", "loc": ("body", *loc), "msg": "a lone UTF-16 surrogate"}
            for loc in _lone_surrogates(data, ())
        ]
    if problems:
        raise RequestValidationError(problems)
    return data


def validated(model: type[Model], data: Any, context: Mapping[str, Any] | None = None) -> Model:
    """`data` validated as `model`; its problems raised as `RequestValidationError` under
    `body` (the input is never echoed)."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


class _NotJsonError(ValueError):
    """A token Python's parser takes but JSON does not have."""


def _no_constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJsonError(f"the number {text[:20]} is too large")
    return value


def _malformed(message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": message}])


def _children(data: Any) -> Iterator[tuple[str | int, Any]]:
    """(key or index, value) of an object or array; keys as they can be written in UTF-8."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield _writable(key), value
    elif isinstance(data, list):
        yield from enumerate(data)


def _repeated_keys(data: Any, at: Location) -> Iterator[Location]:
    if isinstance(data, _Repeated):
        for name in data.repeated:
            yield (*at, _writable(name))
    for key, child in _children(data):
        yield from _repeated_keys(child, (*at, key))


def _lone_surrogates(data: Any, at: Location) -> Iterator[Location]:
    if isinstance(data, str):
        if not _encodes(data):
            yield at
        return
    if isinstance(data, dict):
        for name in data:
            if not _encodes(name):
                yield (*at, _writable(name))
    for key, child in _children(data):
        yield from _lone_surrogates(child, (*at, key))


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _writable(name: str) -> str:
    """`name` with lone surrogates written as escapes (`\\ud800`), so an answer can hold it."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")
