"""Hypothesis profiles: `dev` (default, quick) and `ci` (derandomized, thorough).

Choose with the environment variable HYPOTHESIS_PROFILE, e.g. `HYPOTHESIS_PROFILE=ci`.
Tests take their example counts from the profile; a test that sets its own `@settings`
states why.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=500, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
