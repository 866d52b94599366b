"""The purchasing observatory: aggregates of procedures, amounts, SMEs and local winners,
responses and delays, per member and for the territory, refreshed by a job."""
