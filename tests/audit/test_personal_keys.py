"""Personal data at rest: keyed subject hashes, sealed payloads, key rotation (SQLite and
PostgreSQL for what touches the store)."""

from __future__ import annotations

import base64
import copy
import hmac
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import DataKeyError, ErasureItem, PersonalKeys, Store, open_store
from tests.audit.audit_testkit import a_decision, a_person

Sql = Callable[..., list[Any]]
SUBJECT_KEY = "s" * 40


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def test_the_subject_hash_is_keyed() -> None:
    one = PersonalKeys.from_text(SUBJECT_KEY, f"k1:{_key(1)}")
    other = PersonalKeys.from_text("t" * 40, f"k1:{_key(1)}")
    assert one.subject_hash("21858641206") == one.subject_hash("21858641206")
    assert one.subject_hash("21858641206") != other.subject_hash("21858641206")
    assert len(one.subject_hash("21858641206")) == 64


@given(
    st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=20), max_size=5),
    st.sampled_from([SUBJECT_KEY, "k" * 64, "l" * 65, "ø" * 40]),  # longer than a block: hashed
)
def test_subject_hashes_are_the_standard_hmac_of_each(numbers: list[str], subject_key: str) -> None:
    keys = PersonalKeys.from_text(subject_key, f"k1:{_key(1)}")
    expected = [
        hmac.digest(subject_key.encode(), number.encode(), "sha256").hex() for number in numbers
    ]
    assert keys.subject_hashes(numbers) == expected
    assert [keys.subject_hash(number) for number in numbers] == expected


def test_keys_pickled_or_copied_hash_seal_and_open_as_the_original() -> None:
    keys = PersonalKeys.from_text(SUBJECT_KEY, f"k1:{_key(1)},k0:{_key(0)}")
    key_id, sealed = keys.seal('{"name":"Kari"}', "app-1")
    for other in (pickle.loads(pickle.dumps(keys)), copy.deepcopy(keys), copy.copy(keys)):
        assert other == keys
        assert other.subject_hash("21858641206") == keys.subject_hash("21858641206")
        assert other.open(key_id, sealed, "app-1") == '{"name":"Kari"}'
        assert keys.open(*other.seal("x", "app-2"), "app-2") == "x"


def test_a_sealed_value_opens_only_in_its_own_context_and_with_its_key() -> None:
    keys = PersonalKeys.from_text(SUBJECT_KEY, f"k1:{_key(1)},k0:{_key(0)}")
    key_id, sealed = keys.seal('{"name":"Kari"}', "app-1")
    assert key_id == "k1"
    assert "Kari" not in sealed
    assert keys.open(key_id, sealed, "app-1") == '{"name":"Kari"}'
    with pytest.raises(DataKeyError, match="does not open"):
        keys.open(key_id, sealed, "app-2")
    with pytest.raises(DataKeyError, match="has no key 'k9'"):
        keys.open("k9", sealed, "app-1")


@pytest.mark.parametrize(
    ("subject", "data", "setting", "message"),
    [
        ("short", f"k1:{_key(1)}", "LENDMATCH_SUBJECT_KEY", "at least 32 characters"),
        (SUBJECT_KEY, "k1", "LENDMATCH_DATA_KEYS", "each key is `id:base64key`"),
        (SUBJECT_KEY, "k1:not base64!", "LENDMATCH_DATA_KEYS", "not base64"),
        (SUBJECT_KEY, "k1:" + base64.b64encode(b"short").decode(), "LENDMATCH_DATA_KEYS", "32"),
        (SUBJECT_KEY, f"k1:{_key(1)},k1:{_key(2)}", "LENDMATCH_DATA_KEYS", "twice"),
        (SUBJECT_KEY, " , ", "LENDMATCH_DATA_KEYS", "names no key"),
    ],
)
def test_malformed_keys_are_refused_naming_the_setting(
    subject: str, data: str, setting: str, message: str
) -> None:
    with pytest.raises(DataKeyError) as raised:
        PersonalKeys.from_text(subject, data)
    assert raised.value.setting == setting
    assert message in raised.value.message


def test_the_development_keys_are_known_as_such() -> None:
    assert PersonalKeys.development().development_keys_in_use() == [
        "LENDMATCH_SUBJECT_KEY",
        "LENDMATCH_DATA_KEYS",
    ]
    assert PersonalKeys.from_text(SUBJECT_KEY, f"k1:{_key(1)}").development_keys_in_use() == []


def test_rotation_reseals_every_payload_under_the_new_key_and_resumes(
    database_url: str, sql: Sql, store: Store
) -> None:
    for i in range(1, 6):
        store.decisions.record(
            application_id=f"app-{i}", channel="api", decision=a_decision(i), personal=a_person(i)
        )
    ((sealed,),) = sql("SELECT payload_json FROM personal_data WHERE application_id = 'app-5'")
    clear = store.keys.open(store.keys.current_key_id, sealed, "app-5")
    sql(  # as stored before encryption existed
        "UPDATE personal_data SET payload_json = :p, key_id = NULL WHERE application_id = 'app-5'",
        p=clear,
    )
    before = dict(sql("SELECT application_id, payload_json FROM personal_data"))
    old = PersonalKeys.development()
    rotated = PersonalKeys(old.subject_key, (("k2", bytes(range(32))), *old.data_keys))
    with open_store(database_url, keys=rotated) as new_store:
        progress = list(new_store.rotate_data_key(batch=2))
        assert progress == [(2, 3), (4, 1), (5, 0)]
        assert list(new_store.rotate_data_key(batch=2)) == [(0, 0)]
        assert {key for (key,) in sql("SELECT key_id FROM personal_data")} == {"k2"}
        after = dict(sql("SELECT application_id, payload_json FROM personal_data"))
        assert all(after[app] != before[app] for app in before)
        assert new_store.decisions.personal_data("app-5") == a_person(5)
        report = new_store.verify()
        assert report.ok, report.findings
        assert report.payloads == 5
    with open_store(database_url, keys=PersonalKeys(old.subject_key, (("k2", bytes(32)),))) as bad:
        assert [f.reason[:25] for f in bad.verify().findings] == ["the payload does not open"] * 5


def test_rotation_reseals_corrections_and_identity_checks_too(
    database_url: str, sql: Sql, store: Store
) -> None:
    store.decisions.record(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        subjects=[("applicant", "01019000001")],
    )
    now = datetime.now(UTC)
    store.subjects.correct("app-1", {"applicant": {"email": "new@example.no"}}, now)
    store.subjects.erase_applications(
        [ErasureItem("app-2", {"applicant": ({"name": "Åse"}, now, now + timedelta(days=9))})],
        reason="test",
        now=now,
    )
    old = PersonalKeys.development()
    rotated = PersonalKeys(old.subject_key, (("k2", bytes(range(32))), *old.data_keys))
    with open_store(database_url, keys=rotated) as new_store:
        assert list(new_store.rotate_data_key(batch=10)) == [(1, 2), (2, 1), (3, 0)]
        only_new = PersonalKeys(old.subject_key, (("k2", bytes(range(32))),))
    with open_store(database_url, keys=only_new) as new_store:
        (correction,) = new_store.subjects.corrections(["app-1"])
        assert correction.corrections == {"applicant": {"email": "new@example.no"}}
        (check,) = new_store.subjects.identity_checks(["app-2"])
        assert check.identity == {"name": "Åse"}
        assert new_store.decisions.personal_data("app-1") == a_person(1)
    for table in ("personal_data", "subject_correction", "identity_check"):
        assert sql(f"SELECT DISTINCT key_id FROM {table}") == [("k2",)]
