"""Reading lender rule files: JSON syntax and the file's shape, with every problem located.

The loader reads; it does not compile rules (that is the matcher's job). It returns each
lender's document as parsed JSON, keyed by lender id, and the problems found in all files.

What no tool downstream could handle is refused here, located: JSON nested deeper than
`MAX_NESTING` arrays and objects (Python's JSON reader, the model and the canonical form all
recurse once per level), and strings with a lone surrogate such as "\\ud800" (valid JSON
escapes, but no Unicode text: they cannot be encoded as UTF-8, so not hashed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lender_rules.errors import Problem
from lender_rules.model import LenderFile
from lender_rules.vocabulary import MARKETS


@dataclass(frozen=True)
class LenderDocument:
    """A lender file that parsed and has the right shape."""

    file: str
    document: dict[str, Any]
    model: LenderFile


def lender_files(path: Path) -> list[Path]:
    """The rule files a path names: one file, a folder of them, or a folder with `lenders/`."""
    if path.is_file():
        return [path]
    if (path / "lenders").is_dir():
        path = path / "lenders"
    return sorted(path.glob("*.json"))


MAX_NESTING = 100  # arrays and objects inside each other; a rule is refused well before


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_document(text: str, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse one file's JSON; malformed JSON is a problem with line and column."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        return None, [Problem(file, f"malformed JSON: {e.msg}", None, "$", e.lineno, e.colno)]
    except ValueError as e:
        return None, [Problem(file, f"malformed JSON: {e}")]
    except RecursionError:
        line, column = _too_deep_at(text)
        message = f"nested deeper than {MAX_NESTING} levels"
        return None, [Problem(file, message, None, "$", line, column)]
    if not isinstance(document, dict):
        return None, [Problem(file, "a lender file holds one JSON object")]
    return document, []


def check_document(
    document: dict[str, Any], file: str, stem: str | None
) -> tuple[LenderDocument | None, list[Problem]]:
    """The document with its model when its shape is right (its rules are not checked here),
    else the problems."""
    problems = _unreadable(document, file)
    if problems:
        return None, problems
    try:
        model = LenderFile.model_validate(document)
    except ValidationError as e:
        for error in e.errors():
            problems.append(_problem_of(error, document, file))
        return None, problems
    if stem is not None and model.lender_id != stem:
        problems.append(
            Problem(
                file,
                f"lender_id {model.lender_id!r} must equal the file name {stem!r}",
                None,
                "$.lender_id",
            )
        )
    for i, market in enumerate(model.markets):
        if market not in MARKETS:
            problems.append(
                Problem(
                    file,
                    f"unknown market {market!r}; markets are {', '.join(MARKETS)}",
                    None,
                    f"$.markets[{i}]",
                )
            )
    if len(set(model.markets)) != len(model.markets):
        problems.append(Problem(file, "a market is listed twice", None, "$.markets"))
    seen: set[str] = set()
    for i, requirement in enumerate(model.requirements):
        if requirement.id in seen:
            problems.append(
                Problem(
                    file,
                    f"duplicate requirement id {requirement.id!r}",
                    requirement.id,
                    f"$.requirements[{i}].id",
                )
            )
        seen.add(requirement.id)
    return (None if problems else LenderDocument(file, document, model)), problems


def _unreadable(document: dict[str, Any], file: str) -> list[Problem]:
    """Nesting deeper than `MAX_NESTING` and strings that are not Unicode text, located by
    JSON path (and requirement id). Iterative: it must not recurse as deep as the data."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(document, "$", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                message = f"the string {value!r} holds a lone surrogate, which is not text"
                problems.append(Problem(file, message, _requirement_at(document, path), path))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_NESTING:
            message = f"nested deeper than {MAX_NESTING} levels"
            problems.append(Problem(file, message, _requirement_at(document, path), path))
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and not _is_text(key):
                message = f"the key {key!r} holds a lone surrogate, which is not text"
                problems.append(Problem(file, message, _requirement_at(document, path), path))
                continue
            where = f"{path}[{key}]" if isinstance(key, int) else f"{path}[{json.dumps(key)}]"
            # the file's fields as `.name`, a rule's operators as `["name"]` (as the compiler)
            in_rule = ".rule" in path
            if isinstance(key, str) and key.isidentifier() and not in_rule:
                where = f"{path}.{key}"
            stack.append((item, where, depth + 1))
    return sorted(problems)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _requirement_at(document: dict[str, Any], path: str) -> str | None:
    prefix = "$.requirements["
    if not path.startswith(prefix):
        return None
    index = path[len(prefix) :].split("]", 1)[0]
    requirements = document.get("requirements")
    if not index.isdigit() or not isinstance(requirements, list):
        return None
    item = requirements[int(index)] if int(index) < len(requirements) else None
    found = item.get("id") if isinstance(item, dict) else None
    return found if isinstance(found, str) and _is_text(found) else None


def _too_deep_at(text: str) -> tuple[int, int]:
    """Line and column where `text` opens its (MAX_NESTING + 1)th nested array or object."""
    depth, line, column, in_string, escaped = 0, 1, 0, False, False
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, column
        elif char in "]}":
            depth -= 1
    return 1, 1  # pragma: no cover - only called on text nested that deep


def _problem_of(error: Any, document: dict[str, Any], file: str) -> Problem:
    loc = tuple(error["loc"])
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    requirement_id = None
    if len(loc) >= 2 and loc[0] == "requirements" and isinstance(loc[1], int):
        requirements = document.get("requirements")
        if isinstance(requirements, list) and loc[1] < len(requirements):
            item = requirements[loc[1]]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                requirement_id = item["id"]
    message = error["msg"]
    if error["type"] == "missing":
        message = f"missing field {loc[-1]!r}"
    elif error["type"] == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
    elif error["type"] == "too_long" and loc == ("requirements",):
        message = f"at most 64 requirements per lender ({error['msg']})"
    return Problem(file, message, requirement_id, path)


def read_lender_files(path: Path) -> tuple[list[LenderDocument], list[Problem]]:
    """Read and shape-check every rule file below `path`."""
    files = lender_files(path)
    if not files:
        return [], [Problem(str(path), "no lender rule files (*.json) found")]
    documents: list[LenderDocument] = []
    problems: list[Problem] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(Problem(str(file), f"cannot read: {e}"))
            continue
        document, found = parse_document(text, str(file))
        if document is None:
            problems.extend(found)
            continue
        checked, found = check_document(document, str(file), file.stem)
        problems.extend(found)
        if checked is not None:
            documents.append(checked)
    return documents, problems
