"""The single path's hot modules compiled to C by mypyc, used when a build of the very
sources on disk is at hand.

`make native` (part of `make setup`) compiles the modules of `COMPILED` with mypyc into
`.native/` at the top of the checkout (`native_dir`), beside a manifest that holds the digest
of the matcher's sources it was built from and the interpreter's extension suffix. When
`matcher` is imported, `search_path` puts `.native/matcher` ahead of the package's own folder
if that manifest matches the sources on disk and this interpreter: an edit to any matcher
module makes the build stale, and the pure-Python modules are used until it is rebuilt. Set
LENDMATCH_NATIVE=0 to use them regardless.

Both forms are the same code and give the same answers (tests/matcher/test_native.py
compares them in two processes); the compiled one spends less time per call in the
explanations, the validation of an application and the decision (benchmarks/RESULTS.md).
Nothing here imports the compiler: building is `matcher/native_build.py`'s job.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path

COMPILED = (
    "compiled_lender",
    "contact",
    "engine",
    "explain",
    "feature_checks",
    "features",
    "hints",
    "national_id",
    "pairs",
    "person_checks",
    "ranges",
    "reasons",
    "texts",
    "words",
)
"""The modules compiled, by name in the `matcher` package: what the single path runs per
call (validation checks, the decision's plans, explanations and hints, and the lenders and
requirements they read). Not compiled:
modules whose classes other code subclasses, weak-references (`Ruleset`) or generates code
for, and what runs once per ruleset."""

KERNEL = "_frame_kernel"
"""The frame path's fused kernel, a C extension built beside them (`matcher.lower_kernel`)."""

GROUP = "lendmatch_native"
"""The name of the shared library mypyc writes the compiled modules into."""

MANIFEST = "manifest.json"

PACKAGE_DIR = Path(__file__).resolve().parent


def native_dir() -> Path:
    """Where the compiled modules are: LENDMATCH_NATIVE_DIR, else `.native` beside the
    package (the checkout's top)."""
    configured = os.environ.get("LENDMATCH_NATIVE_DIR")
    return Path(configured) if configured else PACKAGE_DIR.parent / ".native"


def extension_suffix() -> str:
    """The file suffix of this interpreter's extension modules (".cpython-311-x86_64-linux-
    gnu.so"): a build for another interpreter is not used."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """The SHA-256 of every module of the package and the kernel's C source (names and
    bytes, in name order): the compiled modules bind the others' names when built, so any
    edit makes a build stale."""
    digest = hashlib.sha256()
    for path in sorted([*package_dir.glob("*.py"), *package_dir.glob("*.c")]):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def manifest(package_dir: Path = PACKAGE_DIR) -> dict[str, object]:
    """What a build records, and what a build must record to be used here."""
    return {
        "source_digest": source_digest(package_dir),
        "extension_suffix": extension_suffix(),
        "modules": list(COMPILED),
    }


def usable(where: Path) -> bool:
    """Whether the build in `where` was made from the sources on disk, for this interpreter,
    with every module of `COMPILED` present."""
    try:
        recorded = json.loads((where / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if recorded != manifest():
        return False
    suffix = extension_suffix()
    return (where / f"{GROUP}__mypyc{suffix}").is_file() and all(
        (where / "matcher" / f"{name}{suffix}").is_file() for name in (*COMPILED, KERNEL)
    )


def wanted() -> bool:
    """LENDMATCH_NATIVE: "0" (or "false", "no", "off") turns the compiled modules off."""
    setting = os.environ.get("LENDMATCH_NATIVE", "1").strip().lower()
    return setting not in {"0", "false", "no", "off"}


def search_path(path: list[str]) -> tuple[list[str], bool]:
    """The `matcher` package's `__path__`, with the compiled modules' folder first when they
    are wanted and usable, and whether it is."""
    where = native_dir()
    if not wanted() or not usable(where):
        return path, False
    if str(where) not in sys.path:
        sys.path.append(str(where))  # the shared library, a top-level module
    return [str(where / "matcher"), *path], True
