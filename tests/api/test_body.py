"""`api.body.validated_json` against the long way it stands in for (`validated` of
`parse_json`): on every body, valid or not, the same model or the same problems; and the
ordinary body really is read the short way (`read_ordinary`)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from api.body import parse_json, read_ordinary, validated, validated_json
from matcher import Application, validation_context
from matcher.generate import generate
from tests.api.support import application

CONTEXT = validation_context(synthetic_ids=True)
GENERATED = generate(100, seed=21, on=date.today()).drop("application_id").to_dicts()


def outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    """("model", the model) or ("problems", the problems) of reading `raw` one way."""
    try:
        return "model", read(raw)
    except RequestValidationError as exc:
        return "problems", exc.errors()


def long_way(raw: bytes) -> Any:
    return validated(Application, parse_json(raw), CONTEXT)


def short_way(raw: bytes) -> Any:
    return validated_json(Application, raw, CONTEXT)


def assert_same(raw: bytes) -> tuple[str, Any]:
    found = outcome(short_way, raw)
    assert found == outcome(long_way, raw)
    return found


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def test_ordinary_bodies_are_read_the_short_way_into_the_same_model() -> None:
    for data in [application("NO"), application("SE"), *GENERATED[:20]]:
        for raw in (compact(data), json.dumps(data, indent=2).encode()):
            model = read_ordinary(Application, raw, CONTEXT)
            assert model is not None
            assert model == long_way(raw)


BASE = compact(application())


def edited(old: str, new: str) -> bytes:
    assert old.encode() in BASE
    return BASE.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # a key given twice, in a body valid otherwise: pydantic's parser keeps one
        (edited('"amount":150000', '"amount":150000,"amount":90000'), "problems"),
        (edited('"amount":150000', '"amount" :150000,"amount":90000'), "problems"),
        (edited('"amount":150000', '"amount":150000,"amount"\n:90000'), "problems"),
        (edited('"children":1', '"children":1,"children":1'), "problems"),
        (edited('"market":"NO"', '"market":"NO","market":"NO"'), "problems"),
        (edited('"co_applicant":null', '"co_applicant":null,"co_applicant":null'), "problems"),
        # strings that look like keys to the count: read the long way, same model
        (edited('"Kari Nordmann"', '"Kari \\":Nordmann"'), "model"),
        (edited('"kari@example.no"', '"kari@example.no\\" : "'), "problems"),
        (edited('"Kari Nordmann"', '"Kari N\\u00f8rdmann"'), "model"),
        (edited('"Kari Nordmann"', '"Kari \\ud83d\\ude00"'), "model"),  # a pair: one character
        (edited('"Kari Nordmann"', '"Kari \\ud800"'), "problems"),
        (edited('"Kari Nordmann"', '"Kari \\udc00x"'), "problems"),
        (edited('"children":1', '"children":1.0'), "problems"),
        (edited('"children":1', '"children":NaN'), "problems"),
        (edited('"children":1', '"children":true'), "problems"),
        (edited('"children":1', '"children":-0'), "model"),
        (edited('"children":1', '"children":01'), "problems"),
        (edited('"children":1', '"children":1e0'), "problems"),
        (edited('"Kari Nordmann"', '"Kari\tNordmann"'), "problems"),
        (b"\xef\xbb\xbf" + BASE, "problems"),
        (BASE + b" \n\t", "model"),
        (BASE + b"x", "problems"),
        (BASE.replace(b"Kari", b"Kari \xff"), "problems"),
    ],
)
def test_edge_bodies_get_the_long_ways_answer(raw: bytes, expected: str) -> None:
    kind, _ = assert_same(raw)
    assert kind == expected


def test_a_key_given_twice_is_never_read_the_short_way() -> None:
    raw = edited('"amount":150000', '"amount":150000,"amount":90000')
    assert read_ordinary(Application, raw, CONTEXT) is None
    problems = outcome(short_way, raw)[1]
    assert [(p["type"], p["loc"]) for p in problems] == [
        ("duplicate_key", ("body", "loan", "amount"))
    ]


_KEY = re.compile(rb'"[a-z_]+":')


@settings(max_examples=300, deadline=None)
@given(
    data=st.sampled_from(GENERATED),
    edit=st.sampled_from(["insert", "delete", "replace", "repeat_key"]),
    where=st.integers(min_value=0, max_value=10_000),
    byte=st.sampled_from([*b'"\\:,{}[] \n0123456789.-eEtrufalsn', 0x00, 0xC3, 0xFF]),
)
def test_edited_bodies_get_the_same_answer_both_ways(
    data: dict[str, Any], edit: str, where: int, byte: int
) -> None:
    raw = compact(data)
    at = where % (len(raw) + 1)
    if edit == "insert":
        raw = raw[:at] + bytes([byte]) + raw[at:]
    elif edit == "delete":
        raw = raw[:at] + raw[at + 1 :]
    elif edit == "replace":
        raw = raw[:at] + bytes([byte]) + raw[at + 1 :]
    else:  # a key and its value given again right after themselves
        keys = list(_KEY.finditer(raw))
        key = keys[where % len(keys)]
        end = raw.find(b",", key.end())
        if end != -1 and b"{" not in raw[key.end() : end]:
            raw = raw[:end] + b"," + raw[key.start() : end] + raw[end:]
    assert_same(raw)
