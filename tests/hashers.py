"""The production password hasher (Argon2) at its lowest cost, for the tests only: the
same algorithm and format (``argon2$argon2id$…``), so that every rule about hashing and
upgrading still holds, without 0.1 s of CPU for each account the tests make or log in."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8
    parallelism = 1
