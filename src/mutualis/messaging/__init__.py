"""Secure messaging between a buyer and the bidders of a consultation: every formal
exchange timestamped, with read receipts and e-mail notification, kept in the procedure's
file."""
