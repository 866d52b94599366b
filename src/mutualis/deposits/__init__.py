"""Sealed electronic responses (E-procurement II): deposits encrypted in the bidder's
browser to a consultation's opening key, acknowledged with a time-stamp, logged in a
public Merkle tree at the deadline, and opened by k of n commission members.

See docs/adr/0008-sealed-deposits.md for who does what in this context.
"""
