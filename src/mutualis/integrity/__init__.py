"""Integrity indicators (red flags) per procedure and per buyer, from the platform's own
data, shown to the buyer and the operator: prompts to look, not verdicts."""
