"""Canonical JSON: the text and digest of known inputs are pinned (sha256sum of the text)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lender_rules import SHIPPED_LENDERS_DIR
from lender_rules.canonical import (
    _canonical,
    canonical_bytes,
    canonical_json,
    digest,
    restore_infinities,
    sha256_hex,
)
from matcher import load_ruleset

PINNED: list[tuple[Any, str, str]] = [
    (
        {"b": 1, "a": [1, 2.5, None, True, False]},
        '{"a":[1,2.5,null,true,false],"b":1}',
        "afbf2b5984a5e2c35f12dab6dc5e6b5cb8585a62c22028c6eaa1082c8f96b98b",
    ),
    (
        {"navn": "Bjørn Ødegård", "by": "Malmö"},
        '{"by":"Malmö","navn":"Bjørn Ødegård"}',
        "628765b15528efcac05333aca3b2ad486379efb03de9a1cb2ca66fd67168add6",
    ),
    (
        {"y": 0.1, "x": 1e16, "dti": float("inf")},
        '{"dti":"Infinity","x":1e+16,"y":0.1}',
        "f8f8996bb8ee88369f95068588516f7073f3d4dc1a47dbc6b75ef92b16aa9d6a",
    ),
    ([], "[]", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
]


@pytest.mark.parametrize(("value", "text", "sha256"), PINNED)
def test_known_inputs_give_the_pinned_text_and_digest(value: Any, text: str, sha256: str) -> None:
    assert canonical_json(value) == text
    assert canonical_bytes(value) == text.encode("utf-8")
    assert digest(value) == sha256
    assert sha256_hex(text) == sha256


def test_key_order_and_tuples_do_not_change_the_text() -> None:
    assert canonical_json({"z": (1, 2), "a": {"d": 1, "c": 2}}) == canonical_json(
        {"a": {"c": 2, "d": 1}, "z": [1, 2]}
    )


def test_nan_has_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="NaN"):
        canonical_json({"x": [1.0, float("nan")]})


def test_infinities_are_written_as_strings_and_read_back_as_floats() -> None:
    text = canonical_json({"debt_to_income": float("inf"), "low": -float("inf"), "x": 1.5})
    assert text == '{"debt_to_income":"Infinity","low":"-Infinity","x":1.5}'
    json.loads(text, parse_constant=_not_json)  # valid JSON: no bare Infinity
    assert restore_infinities(json.loads(text)) == {
        "debt_to_income": float("inf"),
        "low": -float("inf"),
        "x": 1.5,
    }


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def test_the_shipped_ruleset_hash_is_unchanged() -> None:
    """The hash of the shipped lenders as lendmatch 0.1 computed it (its own JSON writer)."""
    ruleset = load_ruleset(SHIPPED_LENDERS_DIR)
    assert ruleset.hash == "2400a62e8e1a725c5e73fdf2d11f8d2a5f62a2ddf76a38ca527ae5ba921b9771"
    assert sha256_hex(ruleset.snapshot()) == ruleset.hash


@pytest.mark.parametrize("value", ["\ud800", {"a": ["ok", "x\udfff"]}, {"\udc00": 1}])
def test_a_lone_surrogate_has_no_canonical_form(value: Any) -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json(value)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)  # infinities included
    | st.text(st.characters(exclude_categories=("Cs",)))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_VALUES)
def test_the_encoder_first_gives_the_text_of_the_walk_then_the_encoder(value: Any) -> None:
    """`canonical_json` writes most values with `json`'s encoder straight away; the text is
    the one the definition gives: infinities turned into their strings first, then encoded."""
    expected = json.dumps(
        _canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert canonical_json(value) == expected


@given(_VALUES, st.sampled_from([float("nan"), "\ud800", "a\udfffb"]))
def test_a_value_holding_nan_or_a_lone_surrogate_anywhere_is_refused(value: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"NaN|lone surrogate"):
        canonical_json({"ok": value, "bad": [bad]})
