"""`lendmatch serve`: its access log on by default, off with `--no-access-log` or
`LENDMATCH_ACCESS_LOG=0` (a real server for the default and the flag; the setting's way from
the environment through the command to uvicorn for the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from cli.main import app
from tests.api.support import lendmatch_serve


def _served_log(folder: Path, *flags: str) -> str:
    """What `lendmatch serve *flags` writes (stdout and stderr) while it answers GET /readyz
    twice."""
    folder.mkdir(parents=True)
    log = folder / "serve.log"
    with lendmatch_serve(f"sqlite:///{folder / 'lendmatch.sqlite'}", log, *flags) as (url, _):
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    return log.read_text()


@pytest.mark.slow
def test_serve_logs_each_request_by_default_and_none_with_no_access_log(tmp_path: Path) -> None:
    logged = _served_log(tmp_path / "default")
    assert logged.count('"GET /readyz HTTP/1.1" 200') >= 1, logged
    quiet = _served_log(tmp_path / "quiet", "--no-access-log")
    assert "GET /readyz" not in quiet, quiet
    assert "Application startup complete" in quiet  # the server's own log stays


def _uvicorn_arguments(monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_, **kwargs: seen.update(kwargs))
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output
    return seen


@pytest.mark.parametrize(
    ("environment", "args", "expected"),
    [
        (None, (), True),
        ("0", (), False),
        ("1", ("--no-access-log",), False),
        ("0", ("--access-log",), True),
    ],
)
def test_the_access_log_setting_reaches_uvicorn_the_flag_overriding_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, args: tuple[str, ...], expected: bool
) -> None:
    if environment is None:
        monkeypatch.delenv("LENDMATCH_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("LENDMATCH_ACCESS_LOG", environment)
    assert _uvicorn_arguments(monkeypatch, *args)["access_log"] is expected
