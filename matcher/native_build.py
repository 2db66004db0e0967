"""Compile the matcher's hot modules with mypyc: `python -m matcher.native_build` (`make
native`, part of `make setup`).

Writes `.native/` (or LENDMATCH_NATIVE_DIR): the extension modules of `_native.COMPILED`, the
shared library they live in, and the manifest `_native.usable` checks. Up to date builds are
left alone, so the command costs nothing when the sources have not changed. The build goes
to a scratch folder first and replaces the old one only when it is whole: a failed build
leaves the previous one in place (used only while it matches the sources; else the
pure-Python modules run).

Needs a C compiler and the Python headers, mypyc (with mypy) and setuptools (the dev group).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from matcher import _native


def build(where: Path, *, force: bool = False) -> bool:
    """Compile into `where` unless a usable build is there already (`force`: rebuild);
    whether it compiled."""
    if not force and _native.usable(where):
        return False
    # imported here: the dev group's tools, not needed to use a build
    from mypyc.build import mypycify
    from setuptools import Extension, setup

    root = _native.PACKAGE_DIR.parent
    sources = [str(_native.PACKAGE_DIR / f"{name}.py") for name in _native.COMPILED]
    where.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".native-build-", dir=where.parent) as scratch:
        out = Path(scratch) / "out"
        said = io.StringIO()  # mypyc's notes ("Treating generator comprehension as list")
        try:
            with contextlib.redirect_stdout(said):
                extensions = mypycify(
                    ["--config-file", str(root / "pyproject.toml"), *sources],
                    opt_level="3",
                    group_name=_native.GROUP,
                    target_dir=str(Path(scratch) / "c"),
                )
        except SystemExit:  # mypyc's errors, printed with the notes
            print(said.getvalue(), end="", file=sys.stderr)
            raise
        extensions.append(
            Extension(
                f"matcher.{_native.KERNEL}",
                [str(_native.PACKAGE_DIR / f"{_native.KERNEL}.c")],
                # its loops vectorised (for each instruction set: `target_clones` in the
                # source); no -ffast-math: IEEE results, as Polars computes them.
                # -fno-trapping-math changes no result, only lets GCC assume no program
                # reads the floating-point exception flags (none does), without which it
                # does not vectorise `trunc` (MODK_I: 4x faster)
                extra_compile_args=["-O3", "-std=c11", "-fno-trapping-math"],
            )
        )
        here = Path.cwd()
        os.chdir(scratch)  # setuptools would read the checkout's pyproject.toml
        try:
            setup(
                name="lendmatch-native",
                packages=[],
                py_modules=[],
                ext_modules=extensions,
                script_args=[
                    "--quiet",
                    "build_ext",
                    "--build-lib",
                    str(out),
                    "--build-temp",
                    str(Path(scratch) / "temp"),
                ],
            )
        finally:
            os.chdir(here)
        (out / _native.MANIFEST).write_text(json.dumps(_native.manifest(), indent=2) + "\n")
        stale = Path(scratch) / "stale"
        if where.exists():
            where.rename(stale)
        out.rename(where)
    if not _native.usable(where):
        raise RuntimeError(f"the build in {where} is not usable: {_native.MANIFEST} or a module")
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in {"-h", "--help"}:
        print(__doc__)
        print("Options: --force  rebuild even when the build is up to date.")
        return 0
    unknown = [a for a in args if a != "--force"]
    if unknown:
        print(f"native_build: unknown option {unknown[0]!r} (see --help)", file=sys.stderr)
        return 2
    where = _native.native_dir()
    started = time.monotonic()
    if build(where, force="--force" in args):
        print(
            f"compiled {len(_native.COMPILED)} matcher modules into {where} "
            f"in {time.monotonic() - started:.0f} s"
        )
    else:
        print(f"the compiled matcher modules in {where} are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
