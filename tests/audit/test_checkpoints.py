"""Signed checkpoints: written once, read back only with the trusted key, forgeries refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit import (
    CheckpointError,
    CheckpointKeyError,
    Heads,
    checkpoint_public_key,
    new_checkpoint_keys,
    newest_checkpoint,
    write_checkpoint,
)

HEADS = Heads(decisions="3:" + "a" * 64, activations="1:" + "b" * 64, erasures="0:" + "0" * 64)
LATER = Heads(decisions="5:" + "c" * 64, activations="1:" + "b" * 64, erasures="0:" + "0" * 64)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_the_newest_checkpoint_reads_back_with_the_trusted_key(tmp_path: Path) -> None:
    private, public = new_checkpoint_keys()
    assert checkpoint_public_key(private) == public
    assert newest_checkpoint(tmp_path, public) is None
    write_checkpoint(tmp_path, HEADS, private, now=NOW)
    written = write_checkpoint(tmp_path, LATER, private, now=NOW.replace(minute=10))
    found = newest_checkpoint(tmp_path, public)
    assert found == written
    assert (found.heads, found.created_at, found.decision_seq) == (LATER, written.created_at, 5)


def test_a_checkpoint_file_is_never_replaced(tmp_path: Path) -> None:
    private, _ = new_checkpoint_keys()
    write_checkpoint(tmp_path, HEADS, private, now=NOW)
    with pytest.raises(CheckpointError, match="cannot be written"):
        write_checkpoint(tmp_path, HEADS, private, now=NOW)


def test_a_changed_checkpoint_is_refused_naming_its_file(tmp_path: Path) -> None:
    private, public = new_checkpoint_keys()
    written = write_checkpoint(tmp_path, LATER, private, now=NOW)
    written.path.write_text(written.path.read_text().replace('"5:', '"4:'))
    with pytest.raises(CheckpointError) as raised:
        newest_checkpoint(tmp_path, public)
    assert raised.value.path == written.path
    assert "forged" in raised.value.message


def test_a_checkpoint_of_another_key_is_refused(tmp_path: Path) -> None:
    private, _ = new_checkpoint_keys()
    _, trusted = new_checkpoint_keys()
    write_checkpoint(tmp_path, HEADS, private, now=NOW)
    with pytest.raises(CheckpointError, match="forged"):
        newest_checkpoint(tmp_path, trusted)


def test_an_unreadable_checkpoint_is_refused(tmp_path: Path) -> None:
    _, public = new_checkpoint_keys()
    (tmp_path / "checkpoint-x.json").write_text("{}")
    with pytest.raises(CheckpointError, match="not a lendmatch checkpoint"):
        newest_checkpoint(tmp_path, public)


@pytest.mark.parametrize("key", ["not base64!", "a2V5"])
def test_a_malformed_key_is_named(tmp_path: Path, key: str) -> None:
    with pytest.raises(CheckpointKeyError) as raised:
        write_checkpoint(tmp_path, HEADS, key, now=NOW)
    assert raised.value.kind == "private key"
    with pytest.raises(CheckpointKeyError):
        newest_checkpoint(tmp_path, key)


def test_the_redaction_head_is_signed_and_older_checkpoints_have_none(tmp_path: Path) -> None:
    private, public = new_checkpoint_keys()
    with_redactions = replace(HEADS, redactions="2:" + "d" * 64)
    write_checkpoint(tmp_path / "new", with_redactions, private, now=NOW)
    newest = newest_checkpoint(tmp_path / "new", public)
    assert newest is not None and newest.heads == with_redactions
    write_checkpoint(tmp_path / "old", HEADS, private, now=NOW)
    older = newest_checkpoint(tmp_path / "old", public)
    assert older is not None and older.heads.redactions is None
