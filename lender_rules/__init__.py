"""The data contracts at the bottom of lendmatch: lender rule files (their shape, schema and
loader), the vocabulary of closed lists, and canonical JSON for everything hashed.

Imports nothing of lendmatch; every other package may import it.
"""

from pathlib import Path

SHIPPED_LENDERS_DIR = Path(__file__).resolve().parent / "lenders"
"""The demo lender rule files that ship with lendmatch (resolved from the installed package,
so commands work from any directory)."""

__all__ = ["SHIPPED_LENDERS_DIR"]
