"""What protecting personal data costs: sealing, keyed hashes, erasure and the purge.

    uv run python benchmarks/bench_subjects.py [--n 2000] [--repeats 5]

Measured in one run, each a median of `--repeats`, printed as a Markdown table with the
machine and versions:

- sealing one application's personal payload (AES-GCM, `audit.PersonalKeys.seal`) and
  opening it, against its peer: writing the same payload as canonical JSON (what the store
  did before sealing);
- the keyed hash of a national id (HMAC-SHA256) against a plain SHA-256 of it;
- recording `--n` decisions with personal payloads and subject links on SQLite, against
  recording the same decisions without a payload (batch re-scoring's path);
- the retention purge of those `--n` applications (erased, records redacted, 200 per
  commit), and `verify` of the redacted log against the same log before the purge.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench_matcher import _version, machine

from audit import PersonalKeys, open_store
from broker import RetentionPeriods, purge
from lender_rules.canonical import canonical_json

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.audit.audit_testkit import Decision, a_decision, a_person

DECIDED = datetime(2020, 1, 1, tzinfo=UTC)
PURGE_AT = datetime(2026, 1, 1, tzinfo=UTC)


def per_call_us(call: Callable[[], object], calls: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        runs.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(runs)


def _decision(i: int) -> Decision:
    made = a_decision(i)
    return Decision(made.ruleset_hash, DECIDED, made.features, made.outcomes)


def store_run(n: int, personal: bool) -> dict[str, float]:
    """Seconds to record `n` decisions (with or without payloads), to purge them, to verify."""
    with (
        tempfile.TemporaryDirectory() as folder,
        open_store(f"sqlite:///{folder}/bench.sqlite") as store,
    ):
        start = time.perf_counter()
        for i in range(n):
            store.decisions.record(
                application_id=f"app-{i}",
                channel="api",
                decision=_decision(i),
                personal=a_person(i) if personal else {},
                subjects=[("applicant", f"{i:011d}")] if personal else (),
            )
        recorded = time.perf_counter() - start
        start = time.perf_counter()
        assert store.verify().ok
        verified = time.perf_counter() - start
        start = time.perf_counter()
        report = purge(store, RetentionPeriods(), PURGE_AT)
        purged = time.perf_counter() - start
        assert report.removed["application_data"] == n
        start = time.perf_counter()
        after = store.verify()
        verified_redacted = time.perf_counter() - start
        assert after.ok and after.redacted == n
    return {
        "record": recorded,
        "verify": verified,
        "purge": purged,
        "verify_redacted": verified_redacted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    keys = PersonalKeys.development()
    payload = canonical_json(a_person(1) | {"phone": "+47 912 34 567", "income": 550_000})
    key_id, sealed = keys.seal(payload, "app-1")
    calls = 20_000
    seal = per_call_us(lambda: keys.seal(payload, "app-1"), calls, args.repeats)
    unseal = per_call_us(lambda: keys.open(key_id, sealed, "app-1"), calls, args.repeats)
    person = a_person(1) | {"phone": "+47 912 34 567", "income": 550_000}
    plain = per_call_us(lambda: canonical_json(person), calls, args.repeats)
    hmac_us = per_call_us(lambda: keys.subject_hash("21858641206"), calls, args.repeats)
    sha_us = per_call_us(lambda: hashlib.sha256(b"21858641206").hexdigest(), calls, args.repeats)
    with_payload = [store_run(args.n, True) for _ in range(max(1, args.repeats // 2))]
    without = [store_run(args.n, False) for _ in range(max(1, args.repeats // 2))]

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print(f"## bench_subjects ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    for name, value in machine().items():
        print(f"- {name}: {value}")
    print(f"- cryptography {_version('cryptography')}, SQLAlchemy {_version('sqlalchemy')}")
    print(f"- payload {len(payload)} bytes; {args.n} applications; {platform.node()}\n")
    print("| what | median | peer | peer median | ratio |")
    print("|---|---:|---|---:|---:|")
    rows = [
        ("seal one payload (AES-GCM)", seal, "canonical JSON of it", plain, "us"),
        ("open one payload", unseal, "canonical JSON of it", plain, "us"),
        ("keyed hash of a national id (HMAC)", hmac_us, "SHA-256 of it", sha_us, "us"),
        (
            f"record {args.n} decisions with payloads and links",
            med(with_payload, "record"),
            "the same without payloads",
            med(without, "record"),
            "s",
        ),
        (
            f"purge {args.n} applications",
            med(with_payload, "purge"),
            f"recording them ({args.n})",
            med(with_payload, "record"),
            "s",
        ),
        (
            f"verify {args.n} redacted records",
            med(with_payload, "verify_redacted"),
            "verify before the purge",
            med(with_payload, "verify"),
            "s",
        ),
    ]
    for what, value, peer, peer_value, unit in rows:
        print(
            f"| {what} | {value:.2f} {unit} | {peer} | {peer_value:.2f} {unit} | "
            f"{value / peer_value:.2f} |"
        )


if __name__ == "__main__":
    main()
