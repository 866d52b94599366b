"""Accounting flows to the treasury (PES V2 / Helios): a member's ``PES_Aller`` imported,
its XAdES signatures verified, deposited on the treasury's file gateway, and the
``PES_ACQUIT`` routed back to it."""
