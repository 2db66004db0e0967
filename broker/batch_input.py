"""What a batch input file must hold, checked before any work, and its rows validated.

A file holds either applications in the nested shape of `matcher.Application` (struct columns
`applicant`, `co_applicant`, `loan`, `household`; `market`) or feature rows (the columns of
`matcher.FEATURES`); either with an `application_id` column. `input_shape` reads only the
file's schema: a missing column or struct field, or one of the wrong type, is refused naming
it (`BatchColumnError`) before anything is computed.

`validate_rows` splits a chunk into valid rows and rejects with their reasons. For
applications the bounds, closed lists, patterns and lengths come from the application model
itself (its JSON Schema, so they cannot drift from what the API accepts), and national ids are
checked as the API checks them (`matcher.national_id_birth_dates` over the frame, the same
rules as `matcher.parse_national_id`, which words the reason of each invalid one); the valid
rows keep their people's birth dates (`matcher.BIRTH_DATE_COLUMNS`), so their ages are not
read from the ids again. Feature rows,
given or computed from applications, are checked by `validate_features` against the
feature contract with the matcher's own check (`matcher.row_problems`, the definition
`matcher.match` and `matcher.valid_rows` use): a null where a feature is not nullable, NaN,
a value outside its bounds or its closed list.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from broker.errors import BatchColumnError, BatchInputError
from matcher import (
    BIRTH_DATE_COLUMNS,
    FEATURES,
    Application,
    InvalidNationalIdError,
    national_id_birth_dates,
    parse_national_id,
    row_problems,
)

InputShape = Literal["applications", "features"]
APPLICATION_ID = "application_id"
ROW = "row"
"""The row's position in the input file (from 0), in rejects."""
REJECTS_SCHEMA = pl.Schema({ROW: pl.UInt64(), APPLICATION_ID: pl.String(), "reason": pl.String()})

_MODEL_SCHEMA = Application.model_json_schema()
_JSON_TYPES = {"integer": "an integer", "string": "a string", "number": "a number"}


def input_shape(path: Path) -> InputShape:
    """Which shape the file holds; `BatchColumnError` naming the first column or struct field
    that is missing or of the wrong type."""
    try:
        schema = pl.scan_parquet(path).collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise BatchInputError(path, f"not a readable Parquet file ({error})") from None
    _expect(path, APPLICATION_ID, schema.get(APPLICATION_ID), "string")
    if "applicant" in schema:
        for name, spec, _ in _properties(_MODEL_SCHEMA):
            _check_type(path, name, schema.get(name), spec)
        return "applications"
    for feature in FEATURES:
        _expect(
            path, feature.name, schema.get(feature.name), _FEATURE_JSON_TYPES[feature.type.value]
        )
    return "features"


_FEATURE_JSON_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}


def _check_type(path: Path, column: str, found: object, spec: Mapping[str, Any]) -> None:
    dtype = _data_type(found)
    if spec.get("type") == "object":
        if dtype is None or not isinstance(dtype, pl.Struct):
            raise BatchColumnError(path, column, "a struct", None if dtype is None else str(dtype))
        fields = dtype.to_schema()
        for name, sub, _ in _properties(spec):
            _check_type(path, f"{column}.{name}", fields.get(name), sub)
        return
    _expect(path, column, dtype, spec.get("type", "string"))


def _expect(path: Path, column: str, found: object, json_type: str) -> None:
    dtype = _data_type(found)
    if dtype is None:
        raise BatchColumnError(path, column, _JSON_TYPES.get(json_type, json_type), None)
    fits = {
        "integer": dtype.is_integer(),
        "number": dtype.is_numeric(),
        "string": dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum),
        "boolean": dtype == pl.Boolean,
    }[json_type]
    if not fits:
        raise BatchColumnError(path, column, _JSON_TYPES.get(json_type, json_type), str(dtype))


def _data_type(found: object) -> pl.DataType | None:
    """A Polars data type as an instance (schemas may hold classes), or None."""
    if isinstance(found, pl.DataType):
        return found
    if isinstance(found, type) and issubclass(found, pl.DataType):
        return found()
    return None


def _properties(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(name, resolved schema, nullable) of each property of an object schema."""
    required = set(spec.get("required", ()))
    for name, sub in spec["properties"].items():
        nullable = name not in required
        options = sub.get("anyOf", [sub])
        concrete = [o for o in options if o.get("type") != "null"]
        nullable = nullable or len(concrete) < len(options)
        resolved = concrete[0]
        if "$ref" in resolved:
            resolved = _MODEL_SCHEMA["$defs"][resolved["$ref"].rsplit("/", 1)[1]]
        yield name, resolved, nullable


@dataclass(frozen=True, slots=True)
class Validated:
    """A chunk split into rows to score and rejects (`REJECTS_SCHEMA`) with their reasons."""

    valid: pl.DataFrame
    rejects: pl.DataFrame


def validate_rows(frame: pl.DataFrame, shape: InputShape, on: dt.date) -> Validated:
    """Split `frame` (with a `ROW` column) into valid rows and rejects, every reason of a row
    joined by "; ": applications against the application model, either shape for its
    `application_id` (feature rows are checked by `validate_features` after this).

    Every check is first evaluated as a boolean over the whole frame, in one pass; the
    reasons are worded only for the rows that fail one (usually few)."""
    checks = [*_application_checks()] if shape == "applications" else []
    checks.append(_Check(pl.col(APPLICATION_ID).is_null(), pl.lit(f"{APPLICATION_ID}: missing")))
    # rows that may fail a check (`_Check.suspect`): a superset of those that do
    failing = (
        frame.lazy()
        .select(pl.any_horizontal(check.suspect for check in checks).fill_null(False))
        .collect()
        .to_series()
    )
    reasons = pl.repeat("", frame.height, dtype=pl.String, eager=True)
    if failing.any():
        worded = frame.filter(failing).select(
            pl.concat_list(pl.when(c.failed).then(c.reason) for c in checks)
            .list.drop_nulls()
            .list.join("; ")
        )
        reasons = reasons.scatter(failing.arg_true(), worded.to_series())
    if shape == "applications":
        reasons, births = _check_national_ids(frame, reasons, on)
        frame = frame.with_columns(births)  # for the ages (`matcher.BIRTH_DATE_COLUMNS`)
    return _split(frame, reasons)


def validate_features(frame: pl.DataFrame) -> Validated:
    """Split a feature frame (with `ROW` and `APPLICATION_ID`) into the rows the feature
    contract allows and rejects naming each bad feature (`matcher.row_problems`)."""
    return _split(frame, row_problems(frame.lazy().select(f.name for f in FEATURES)))


def _split(frame: pl.DataFrame, reasons: pl.Series) -> Validated:
    """`frame` split by the reason of each row (null or "": valid). The frame's columns are
    not touched (nor copied) when every row is valid, the usual case."""
    bad = (reasons != "").fill_null(False)
    if not bad.any():
        return Validated(frame, REJECTS_SCHEMA.to_frame())
    rejects = (
        frame.select(pl.col(ROW).cast(pl.UInt64), pl.col(APPLICATION_ID).cast(pl.String))
        .with_columns(reasons.alias("reason"))
        .filter(bad)
    )
    return Validated(frame.filter(~bad), rejects)


@dataclass(frozen=True, slots=True)
class _Check:
    """One check of a row: where it fails (a boolean; null counts as passing) and the
    reason then, in words; `cheap`, when given, is true at least wherever `failed` is and
    costs less (e.g. a string's length in bytes for its length in characters)."""

    failed: pl.Expr
    reason: pl.Expr
    cheap: pl.Expr | None = None

    @property
    def suspect(self) -> pl.Expr:
        """Where the row may fail this check: at least wherever it does."""
        return self.failed if self.cheap is None else self.cheap


@functools.cache
def _application_checks() -> tuple[_Check, ...]:
    """The checks of the application model, built once (expressions are immutable)."""
    return tuple(_object_checks(_MODEL_SCHEMA, "", None, pl.lit(True)))


def _object_checks(
    spec: Mapping[str, Any], prefix: str, parent: pl.Expr | None, present: pl.Expr
) -> Iterator[_Check]:
    """Checks of every property of an object. `present` says where the object itself is
    there (a null co-applicant has no fields to check)."""
    for name, sub, nullable in _properties(spec):
        value = pl.col(name) if parent is None else parent.struct.field(name)
        path = f"{prefix}{name}"
        if not nullable:
            yield _Check(present & value.is_null(), pl.lit(f"{path}: missing"))
        if sub.get("type") == "object":
            yield from _object_checks(sub, f"{path}.", value, present & value.is_not_null())
            continue
        yield from _value_checks(value, path, sub)


def _value_checks(value: pl.Expr, path: str, spec: Mapping[str, Any]) -> Iterator[_Check]:
    def reason(failed: pl.Expr, text: str, cheap: pl.Expr | None = None) -> _Check:
        # concat_str, not pl.format: see `matcher.feature_checks._violations`
        worded = pl.concat_str(pl.lit(f"{path}: "), value.cast(pl.String), pl.lit(f" {text}"))
        return _Check(failed, worded, cheap)

    if "minimum" in spec:
        yield reason(value < spec["minimum"], f"is below the minimum {spec['minimum']}")
    if "maximum" in spec:
        yield reason(value > spec["maximum"], f"is above the maximum {spec['maximum']}")
    if spec.get("type") == "number":
        yield reason(value.is_nan(), "is not a number")
    if "enum" in spec:
        text = f"is not one of {', '.join(spec['enum'])}"
        if len(spec["enum"]) <= _FEW:  # a few comparisons cost less than a hash lookup
            known = pl.any_horizontal(value.cast(pl.String) == option for option in spec["enum"])
            yield reason(~known, text)
        else:
            allowed = pl.Series(spec["enum"], dtype=pl.String).implode()
            yield reason(~value.cast(pl.String).is_in(allowed), text)
    if "pattern" in spec:
        yield reason(~value.cast(pl.String).str.contains(spec["pattern"]), "has the wrong form")
    # a string has at least as many bytes as characters, and none only when it has no
    # characters: its length in bytes (no pass over the text) finds the rows to look at
    if "minLength" in spec:
        text = f"is shorter than {spec['minLength']} characters"
        chars = value.cast(pl.String).str.len_chars()
        cheap = value.cast(pl.String).str.len_bytes() < 1 if spec["minLength"] <= 1 else None
        yield reason(chars < spec["minLength"], text, cheap)
    if "maxLength" in spec:
        text = f"is longer than {spec['maxLength']} characters"
        chars, size = value.cast(pl.String).str.len_chars(), value.cast(pl.String).str.len_bytes()
        yield reason(chars > spec["maxLength"], text, size > spec["maxLength"])


_FEW = 8
"""Closed lists up to this long are checked by comparing with each value."""


def _check_national_ids(
    frame: pl.DataFrame, reasons: pl.Series, on: dt.date
) -> tuple[pl.Series, list[pl.Series]]:
    """`reasons` with a reason added to each row whose applicant's or co-applicant's national
    id is invalid for its market (only rows with no other reason: their market and ids are
    well-formed), and each role's birth dates (`matcher.BIRTH_DATE_COLUMNS`; null where not
    checked). The rows are checked in one pass over the frame
    (`matcher.national_id_birth_dates`); only the invalid ones (usually few) are parsed one
    at a time, for the reason in words."""
    clean = reasons == ""
    flagged = pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    births = []
    for role in _ROLES:
        numbers = frame.select(
            pl.col(role).struct.field("national_id").alias("id"),
            pl.col("market").cast(pl.String),
        )
        # only the rows with an id to check (most applications have no co-applicant)
        checked = clean & numbers.get_column("id").is_not_null()
        every = checked.all()
        subset = numbers if every else numbers.filter(checked)
        born = national_id_birth_dates(subset, pl.col("id"), pl.col("market"), on=on)
        if not every:
            where = checked.arg_true()
            born = pl.repeat(None, frame.height, dtype=pl.Int32, eager=True).scatter(where, born)
        births.append(born.alias(BIRTH_DATE_COLUMNS[role]))
        flagged = flagged | (checked & born.is_null())
    if not flagged.any():
        return reasons, births
    rows = flagged.arg_true()
    found = frame.select(
        pl.col("market").cast(pl.String).gather(rows),
        *(pl.col(role).struct.field("national_id").gather(rows).alias(role) for role in _ROLES),
    )
    worded = []
    for market, *ids in found.iter_rows():
        reason = ""
        for role, national_id in zip(_ROLES, ids, strict=True):
            if national_id is None or reason:
                continue
            try:
                parse_national_id(national_id, market, on=on)
            except InvalidNationalIdError as error:
                reason = f"{role}.national_id: invalid {error.kind}: {error.reason}"
        worded.append(reason)
    return reasons.scatter(rows, pl.Series(worded, dtype=pl.String)), births


_ROLES = ("applicant", "co_applicant")
