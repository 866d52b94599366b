"""Settings of the test suite: the project's own, plus a test-only context that plugs into
the platform without any change to core (tests/plugged)."""

from mutualis.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.plugged"]  # noqa: F405

# Argon2 at its lowest cost (tests/hashers.py): the production hashers follow it.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405

# seed_demo in the suite leaves out the past procedures carried to every stage (sealed
# offers, openings, analyses, contracts: a minute of work); tests/integration/
# test_demo_journeys.py seeds them once.
MUTUALIS_DEMO_SKIP_STEPS = ["contracts.journeys"]
