"""A ruleset snapshot changed in the database is never used: the API answers 503 naming the
ruleset, and neither the decision nor its explanation carries the changed text."""

from __future__ import annotations

import json

from sqlalchemy import text

from audit import open_store
from tests.api.support import application, running_api


def _forge_first_reason(database_url: str, ruleset_hash: str) -> str:
    """Replace the English reason of the first requirement in the stored snapshot (keeping
    the hash it is stored under); return the forged text."""
    forged = "Forged: nobody qualifies."
    with open_store(database_url) as store, store.engine.begin() as connection:
        (snapshot,) = connection.execute(
            text("SELECT snapshot FROM ruleset_version WHERE hash = :h"), {"h": ruleset_hash}
        ).one()
        document = json.loads(snapshot)
        document["lenders"][0]["requirements"][0]["reason"]["en"] = forged
        connection.execute(
            text("UPDATE ruleset_version SET snapshot = :s WHERE hash = :h"),
            {"s": json.dumps(document, sort_keys=True, separators=(",", ":")), "h": ruleset_hash},
        )
    return forged


def test_a_changed_snapshot_is_refused_with_503_and_never_served(database_url: str) -> None:
    with running_api(database_url) as api:
        first = api.post_application(application("NO"))
        assert first.status_code == 201, first.text
        decided = first.json()
    forged = _forge_first_reason(database_url, decided["ruleset_hash"])

    with running_api(database_url) as api:  # a fresh process: nothing compiled yet
        explained = api.client.get(
            f"/v1/applications/{decided['application_id']}/decision",
            headers={"X-API-Key": api.frontend_key},
        )
        posted = api.post_application(application("NO"))
    for response in (explained, posted):
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "ruleset_tampered"
        assert decided["ruleset_hash"] in body["message"]
        assert forged not in response.text
