"""Award and contract: the award per lot, the letters, the standstill period, the
notification, the contract record through its execution (E-procurement III)."""
