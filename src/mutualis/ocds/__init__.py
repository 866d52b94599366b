"""OCDS 1.1 releases of the tender, award and contract stages, stored as immutable
snapshots, and compiled records: the API and daily bulk files."""
