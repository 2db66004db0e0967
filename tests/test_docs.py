"""README.md documents every operator, feature, setting and command: a test fails otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from broker import Settings
from cli.main import app
from matcher.operators import OPERATORS
from matcher.schema import FEATURES

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
PROSE = re.sub(r"```.*?```", "", README, flags=re.DOTALL)  # code spans outside fenced blocks
CODE_SPANS = set(re.findall(r"`([^`]+)`", PROSE))


@pytest.mark.parametrize("name", ["var", *OPERATORS])
def test_every_operator_is_documented(name: str) -> None:
    assert name in CODE_SPANS


@pytest.mark.parametrize("name", [f.name for f in FEATURES])
def test_every_feature_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    env = "DATABASE_URL" if field == "database_url" else f"LENDMATCH_{field.upper()}"
    assert f"`{env}`" in README


def _commands(group: typer.Typer, prefix: str) -> list[str]:
    names = [f"{prefix}{c.name or c.callback.__name__}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        names += _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return names


@pytest.mark.parametrize("command", _commands(app, "lendmatch "))
def test_every_command_is_documented(command: str) -> None:
    assert any(span.startswith(command) for span in CODE_SPANS), command
