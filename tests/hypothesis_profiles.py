"""Hypothesis settings profiles, chosen by the `HYPOTHESIS_PROFILE` environment variable.

| profile   | examples                         | order                  | for                   |
|-----------|----------------------------------|------------------------|-----------------------|
| `default` | a quarter of each test's count   | the same every run     | the README's pytest   |
| `ci`      | each test's own count            | the same every run     | `.ci/run`             |
| `nightly` | ten times each test's count      | random, new each run   | a long run by hand    |

A test's count is hypothesis's 100, or what it passes to `scaled` (`@settings(max_examples=
scaled(300))`): a test that pins a number itself would override every profile. The deterministic
profiles write no example database, so one run cannot change the next; the nightly one keeps
hypothesis's database in `.hypothesis/` so a failure it finds replays at once.

No profile has a deadline or the too-slow health check: on a shared machine, time is noise, and
a test whose outcome depends on the load would not be deterministic.
"""

from __future__ import annotations

__all__ = ["PROFILE_ENV", "load_profile", "scaled"]

import os
from typing import Any

from hypothesis import HealthCheck, settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"
_BASE_EXAMPLES = 100
"""Hypothesis's own default count: the `ci` profile's, and the unit `scaled` measures against."""
_QUIET: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def load_profile() -> None:
    """Register the three profiles and load the one `HYPOTHESIS_PROFILE` names, or `default`."""
    settings.register_profile(
        "default", max_examples=_BASE_EXAMPLES // 4, derandomize=True, database=None, **_QUIET
    )
    settings.register_profile(
        "ci", max_examples=_BASE_EXAMPLES, derandomize=True, database=None, **_QUIET
    )
    settings.register_profile("nightly", max_examples=_BASE_EXAMPLES * 10, **_QUIET)
    name = os.environ.get(PROFILE_ENV) or "default"
    settings.load_profile(name)  # an unknown name fails here: Profile 'x' is not registered


def scaled(count: int) -> int:
    """Return a test's own example count scaled as the loaded profile scales hypothesis's 100."""
    return max(1, round(count * settings().max_examples / _BASE_EXAMPLES))
