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
`body` (`body.applicant.national_id`). `validated_json` does both for a body already read:
the same model or the same problems, in a third less time for the ordinary body. The body's
size is bounded before all this by the body-limit middleware (`api.middleware`).
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing
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
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def json_body(request: Request) -> Any:
    """The request's body as JSON data, checked as the module doc says."""
    return parse_json(await json_bytes(request))


async def json_bytes(request: Request) -> bytes:
    """The request's body as it came, once its media type says JSON in UTF-8 (for
    `parse_json`, or `validated_json`)."""
    check_media_type(request.headers.get("content-type"))
    return await request.body()


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
    if _SURROGATE_ESCAPE.search(raw):
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


def validated_json(
    model: type[Model], raw: bytes, context: Mapping[str, Any] | None = None
) -> Model:
    """`validated(model, parse_json(raw), context)`: the same model, or the same problems;
    the ordinary body read by `read_ordinary`, any other the long way, which says what is
    wrong with it (tests/api/test_body.py compares both ways)."""
    found = read_ordinary(model, raw, context)
    return found if found is not None else validated(model, parse_json(raw), context)


def read_ordinary(
    model: type[Model], raw: bytes, context: Mapping[str, Any] | None = None
) -> Model | None:
    """The model `validated(model, parse_json(raw), context)` gives, read by pydantic's own
    JSON parser straight into the model (a third less time than Python's parser and then the
    model); None for a body it cannot tell about, valid or not.

    That parser refuses what `parse_json` refuses (text that is not JSON, not UTF-8, `NaN`,
    control characters in strings, a lone surrogate), except a key given twice, which it
    settles by keeping one. So its model is taken only when the text holds no escaped
    surrogate and as many colons as the models it filled were given keys
    (`model_fields_set`): a key given twice makes one more colon in the text, and so does
    a colon in a string (such a body is read the long way)."""
    if _SURROGATE_ESCAPE.search(raw) is not None:
        return None
    try:
        found = model.model_validate_json(raw, context=dict(context or {}))
    except ValidationError:
        return None
    return found if _keys_in_text(raw) == _keys_given(found) else None


def _keys_in_text(raw: bytes) -> int:
    """How many keys the JSON text has, or more: every key is followed by one colon, and a
    colon elsewhere is in a string."""
    return raw.count(b":")


def _keys_given(model: BaseModel) -> int:
    """How many keys the JSON objects a model was read from had: its fields given, and
    theirs, through the fields that can hold models (a dict's keys counted too)."""
    given = model.__pydantic_fields_set__
    count = len(given)
    for name in _model_fields(type(model)):
        if name in given:
            value = getattr(model, name)
            # a model (the usual field that holds keys) counted here, without the call
            # through `_keys_within`: this runs on every body read
            count += _keys_given(value) if isinstance(value, BaseModel) else _keys_within(value)
    return count


def _keys_within(value: Any) -> int:
    if isinstance(value, BaseModel):
        return _keys_given(value)
    if isinstance(value, list | tuple):
        return sum(_keys_within(item) for item in value)
    if isinstance(value, dict):
        return len(value) + sum(_keys_within(item) for item in value.values())
    return 0


@functools.cache
def _model_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` whose type holds a model, a list or a dict (their values have
    keys of their own); a field of plain values has none."""
    return tuple(
        name for name, info in model.model_fields.items() if _may_hold_keys(info.annotation)
    )


def _may_hold_keys(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is None:
        return isinstance(annotation, type) and issubclass(annotation, BaseModel | dict | list)
    if origin is typing.Annotated:
        return _may_hold_keys(typing.get_args(annotation)[0])
    if origin in (list, tuple, dict, set, frozenset):
        return True
    return any(_may_hold_keys(arg) for arg in typing.get_args(annotation))  # a union


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
