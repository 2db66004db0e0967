"""The re-scoring engine on Ray Data: the same chunks, scored by Ray workers.

The driver splits the file into the chunks of the shared batch loop (start, rows) and hands
them to a pool of Ray actors (`Dataset.map_batches`, one chunk per call, order preserved).
Each actor receives the two rulesets as snapshots (canonical JSON), compiles them itself once,
reads its chunk of the Parquet file and runs the very function the local engine runs
(`broker.rescoring.score_rows`); it sends back the changes and rejects (Arrow IPC) and the
counts. The driver writes the outputs exactly as the local engine does, so the results are
the same, byte for byte after sorting.

With `--apply` (`send_features`) the actors also send back the feature rows to record: those
of the changed applications (`"changed"`) or all (`"all"`). The chunks come back in file
order and the driver records them one after the other (`broker.batch_decisions`), so the
chain is written by one process, in the same order as the local engine writes it, and an
interrupted run resumes the same way.

Without `address` a local Ray is started for the run (`num_cpus` CPUs) and stopped after;
with one, the run joins that cluster and uses its CPUs; the input path must then be readable
by every worker (a shared file system or an object store URI). Ray is an optional extra:
`pip install 'lendmatch[ray]'` (`uv sync --extra ray`).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl

from broker.batch import count_rows
from broker.batch_input import APPLICATION_ID, ROW, InputShape
from broker.errors import BatchInputError, EngineUnavailableError
from broker.rescoring import Comparison, Engine, LenderCounts, ScoredChunk, score_rows
from matcher import Ruleset, ruleset_from_snapshot

INSTALL = "pip install 'lendmatch[ray]' (in a checkout: uv sync --extra ray)"


SendFeatures = Literal["none", "changed", "all"]
"""Which scored feature rows the actors send back: none (a dry run), those of the changed
applications, or all (to record every application)."""


def ray_engine(
    address: str | None = None, *, num_cpus: int = 2, send_features: SendFeatures = "none"
) -> Engine:
    """An engine scoring on Ray: a local Ray of `num_cpus` CPUs, or the cluster at `address`;
    `send_features` says which feature rows come back for recording.
    `EngineUnavailableError` when Ray is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise EngineUnavailableError("ray", INSTALL)

    return functools.partial(_run, address, num_cpus, send_features)


def _run(
    address: str | None,
    num_cpus: int,
    send_features: SendFeatures,
    path: Path,
    shape: InputShape,
    new: Ruleset,
    baseline: Ruleset,
    on: dt.date,
    chunk_rows: int,
) -> Iterator[ScoredChunk]:
    if address is None:
        # A local Ray's workers run this very interpreter: Ray's `uv run` hook, which would
        # rebuild the driver's environment for them from the working directory, is not needed.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray
    import ray.data

    total = count_rows(path)
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=None if address else num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            # one actor per CPU, so each actor's Polars uses one thread
            runtime_env={"env_vars": {"POLARS_MAX_THREADS": "1"}},
        )
    try:
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray is untyped here
        workers = max(1, int(resources.get("CPU", num_cpus)))
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        units = [
            {"start": start, "rows": min(chunk_rows, total - start)}
            for start in range(0, total, chunk_rows)
        ]
        if not units:
            return
        scored = ray.data.from_items(units, override_num_blocks=len(units)).map_batches(
            _ScoreChunks,
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(units))),
            num_cpus=1,
            fn_constructor_kwargs={
                "path": str(path),
                "shape": shape,
                "new": new.snapshot(),
                "baseline": baseline.snapshot(),
                "on": on.isoformat(),
                "send_features": send_features,
            },
        )
        try:
            for row in scored.iter_rows():
                yield _decode(row)
        except ray.exceptions.RayError as error:
            raise BatchInputError(path, f"a Ray worker failed: {error}") from None
    finally:
        if started:
            ray.shutdown()


class _ScoreChunks:
    """A Ray actor: compiles both rulesets once, then scores the chunks it is given."""

    def __init__(
        self,
        path: str,
        shape: InputShape,
        new: str,
        baseline: str,
        on: str,
        send_features: SendFeatures,
    ) -> None:
        self._path = path
        self._send_features = send_features
        self._shape = shape
        self._new = ruleset_from_snapshot(new)
        self._baseline = ruleset_from_snapshot(baseline)
        self._on = dt.date.fromisoformat(on)

    def __call__(self, batch: Any) -> Any:
        out: dict[str, list[Any]] = {
            k: [] for k in ("start", "rows", "changes", "rejects", "counts", "features")
        }
        for unit in batch.to_pylist():
            start, rows = unit["start"], unit["rows"]
            frame = (
                pl.scan_parquet(self._path)
                .slice(start, rows)
                .collect()
                .with_row_index(ROW, offset=start)
            )
            scored, comparison, rejects = score_rows(
                frame, self._shape, self._new, self._baseline, self._on
            )
            if self._send_features == "changed":
                changed = comparison.changes.get_column(APPLICATION_ID).unique().implode()
                scored = scored.filter(pl.col(APPLICATION_ID).is_in(changed))
            out["features"].append(None if self._send_features == "none" else _ipc(scored))
            out["start"].append(start)
            out["rows"].append(rows)
            out["changes"].append(_ipc(comparison.changes))
            out["rejects"].append(_ipc(rejects))
            counts = {k: _counts_list(c) for k, c in comparison.counts.items()}
            out["counts"].append(json.dumps(counts))
        return pl.DataFrame(
            out,
            schema={
                "start": pl.Int64,
                "rows": pl.Int64,
                "changes": pl.Binary,
                "rejects": pl.Binary,
                "counts": pl.String,
                "features": pl.Binary,
            },
        ).to_arrow()


def _counts_list(counts: LenderCounts) -> list[int]:
    return [
        counts.eligible_before,
        counts.eligible_after,
        counts.newly_eligible,
        counts.newly_rejected,
    ]


def _ipc(frame: pl.DataFrame) -> bytes:
    return frame.write_ipc(None).getvalue()


def _decode(row: dict[str, Any]) -> ScoredChunk:
    counts = {k: LenderCounts(*v) for k, v in json.loads(row["counts"]).items()}
    changes = pl.read_ipc(row["changes"])
    rejects = pl.read_ipc(row["rejects"])
    features = None if row["features"] is None else pl.read_ipc(row["features"])
    return ScoredChunk(row["start"], row["rows"], features, Comparison(counts, changes), rejects)
