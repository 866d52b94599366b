"""Commissions of a member (tender commission, jury): members, meetings, convocations,
attendance and quorum, minutes; the opening-key holders of a consultation are drawn from
its commission."""
