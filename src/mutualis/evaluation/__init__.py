"""The analysis of the offers of a consultation once opened: criteria and sub-criteria,
evaluators' scores, price formulas, the weighted ranking (E-procurement III)."""
