"""Rich text that buyers write (a consultation's description), made safe to show.

nh3 (the Rust ammonia sanitiser) keeps an allow-list of tags and attributes and drops
everything else — scripts, styles, event handlers, ``javascript:`` links — with their
content where it is code. Sanitised on the way in, so that every reader (the public pages,
later the API and the open data) gets the same safe text.
"""

from __future__ import annotations

import nh3

TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li",
    "h3", "h4", "blockquote", "a", "abbr",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
