"""The example applications: the files in `examples/`, the OpenAPI page's examples and
README's curl are the same applications, and each is decided."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.examples import APPLICATIONS
from broker import Settings
from tests.api.support import Api, running_api

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_files() -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))}


def test_the_example_files_are_the_openapi_examples() -> None:
    assert example_files() == APPLICATIONS
    assert {(body["market"], "co_applicant" in body) for body in APPLICATIONS.values()} == {
        ("NO", False),
        ("NO", True),
        ("SE", False),
        ("SE", True),
    }


def test_the_openapi_page_offers_every_example_for_a_new_application() -> None:
    # (FastAPI leaves out null values of the spec: the examples hold none)
    schema = create_app(Settings(database_url="sqlite://")).openapi()
    media = schema["paths"]["/v1/applications"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert {name: example["value"] for name, example in media["examples"].items()} == APPLICATIONS
    assert all(example["summary"] for example in media["examples"].values())


@pytest.fixture
def demo_api(sqlite_url: str) -> Any:
    """The API as `make serve` runs it: synthetic test ids accepted."""
    with running_api(sqlite_url, synthetic_ids=True) as api:
        yield api


@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_every_example_is_decided(demo_api: Api, name: str) -> None:
    raw = (EXAMPLES / f"{name}.json").read_bytes()
    response = demo_api.client.post(
        "/v1/applications",
        content=raw,
        headers={"X-API-Key": demo_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["eligible_lenders"]) + len(body["rejected"]) > 0


def test_outside_demo_mode_the_norwegian_examples_are_refused_at_the_synthetic_id(
    sqlite_api: Api,
) -> None:
    response = sqlite_api.post_application(APPLICATIONS["no-applicant"])
    assert response.status_code == 422
    assert [(p["field"], p["type"]) for p in response.json()["problems"]] == [
        ("body.applicant.national_id", "synthetic_national_id")
    ]
    assert sqlite_api.post_application(APPLICATIONS["se-applicant"]).status_code == 201


def test_the_readme_curl_posts_an_example_that_is_decided(demo_api: Api) -> None:
    readme = (ROOT / "README.md").read_text()
    (curl,) = re.findall(r"curl [^`]*?/v1/applications[^`]*?-d @(\S+)", readme)
    path = ROOT / curl
    assert path.is_file(), f"README's curl posts {curl}, which does not exist"
    response = demo_api.client.post(
        "/v1/applications",
        content=path.read_bytes(),
        headers={"X-API-Key": demo_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_make_serve_accepts_the_synthetic_ids_of_the_examples() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (serve,) = [line for line in makefile.splitlines() if "lendmatch serve" in line]
    assert "LENDMATCH_SYNTHETIC_IDS=" in serve
