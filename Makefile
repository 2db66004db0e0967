# The one task runner: CI (.ci/run) calls the very same targets a developer runs.
# `make serve` and `make test` are the two commands at the top of README.md.

UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup native browser serve test check lint typecheck pytest postgres bench

setup:  ## install uv if missing, then the locked dependencies into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@$(MAKE) --no-print-directory native

native:  ## compile the matcher's hot modules with mypyc into .native/ (skipped when up to date)
	@# the pure-Python modules stay in use if this fails (a compiler or headers missing)
	@$(UV) run python -m matcher.native_build \
		|| echo "note: the compiled matcher modules were not built; the pure-Python ones are used" >&2

browser:  ## Debian's Chromium for the browser tests (installed when missing and run as root)
	@# the browser tests drive Debian's Chromium (Playwright cannot download browsers here)
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] \
		|| { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/chromium \
		|| echo "note: /usr/bin/chromium is missing; the browser tests need it (apt-get install chromium)" >&2

serve: setup  ## the API on http://127.0.0.1:8000 (SQLite, shipped demo lenders, demo keys, test ids)
	LENDMATCH_DEMO_KEYS=$${LENDMATCH_DEMO_KEYS:-1} \
	LENDMATCH_SYNTHETIC_IDS=$${LENDMATCH_SYNTHETIC_IDS:-1} $(UV) run lendmatch serve

test: setup browser postgres lint typecheck pytest  ## everything CI checks

lint:  ## ruff, and the import-linter contracts of pyproject.toml (the layers of ARCHITECTURE.md)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck:
	$(UV) run mypy

pytest:
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(UV) run pytest

postgres:  ## start the local PostgreSQL if it is not answering (store tests need it)
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null \
		|| pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1

bench: setup  ## the benchmarks; they write benchmarks/RESULTS.md
	$(UV) run python benchmarks/bench_matcher.py
	$(UV) run python benchmarks/bench_api.py
	$(UV) run python benchmarks/bench_review.py
