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

import pytest
from hypothesis import HealthCheck, settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"
_PROFILES = ("default", "ci", "nightly")
_BASE_EXAMPLES = 100
"""Hypothesis's own default count: the `ci` profile's, and the unit `scaled` measures against."""
_HYPOTHESIS_DEFAULT = settings.get_profile("default")
"""Hypothesis's own defaults, the parent of every profile: the `default` registered here
replaces hypothesis's profile of that name, which later profiles would otherwise build on."""
_QUIET: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def load_profile() -> None:
    """Register the three profiles and load the one `HYPOTHESIS_PROFILE` names, or `default`."""
    settings.register_profile(
        "ci",
        _HYPOTHESIS_DEFAULT,
        max_examples=_BASE_EXAMPLES,
        derandomize=True,
        database=None,
        **_QUIET,
    )
    settings.register_profile(
        "nightly",
        _HYPOTHESIS_DEFAULT,
        max_examples=_BASE_EXAMPLES * 10,
        derandomize=False,
        **_QUIET,
    )
    settings.register_profile(
        "default",
        _HYPOTHESIS_DEFAULT,
        max_examples=_BASE_EXAMPLES // 4,
        derandomize=True,
        database=None,
        **_QUIET,
    )
    name = os.environ.get(PROFILE_ENV) or "default"
    if name not in _PROFILES:
        raise pytest.UsageError(
            f"{PROFILE_ENV}={name!r} is not a hypothesis profile: use one of {', '.join(_PROFILES)}"
            " or leave it unset (docs/testing.md)"
        )
    settings.load_profile(name)


def scaled(count: int) -> int:
    """Return a test's own example count scaled as the loaded profile scales hypothesis's 100."""
    return max(1, round(count * settings().max_examples / _BASE_EXAMPLES))
