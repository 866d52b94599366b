"""A stand-in of the national open-data portal, for the tests."""
