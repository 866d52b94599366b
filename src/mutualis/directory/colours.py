"""Colours of a member's public pages, kept readable (WCAG 2.1, success criterion 1.4.3).

A member picks its primary and secondary colours freely; the text drawn on them is then
black or white, whichever contrasts more, so that no choice of colour makes a page
unreadable.
"""

from __future__ import annotations

import hashlib
import re

BLACK = "#000000"
WHITE = "#ffffff"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def is_hex_colour(value: str) -> bool:
    return bool(_HEX.match(value or ""))


def relative_luminance(colour: str) -> float:
    """Relative luminance of an sRGB ``#rrggbb`` colour, from 0 (black) to 1 (white)."""
    if not is_hex_colour(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        # The sRGB transfer function, with the thresholds WCAG 2.1 gives.
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str) -> str:
    """Black or white: the text colour that contrasts more with ``background``.

    One of the two always reaches at least 4.58:1, above the 4.5:1 that WCAG AA asks
    of body text.
    """
    if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE):
        return BLACK
    return WHITE


def public_theme(*, primary: str, secondary: str) -> dict[str, str]:
    """CSS custom properties of a public page. A value that is not ``#rrggbb`` (a row
    written without validation) falls back to the default rather than reach the page."""
    primary = primary if is_hex_colour(primary) else "#1d4e89"
    secondary = secondary if is_hex_colour(secondary) else "#f2f5f9"
    return {
        "--org-primary": primary.lower(),
        "--org-on-primary": readable_text_colour(primary),
        "--org-secondary": secondary.lower(),
        "--org-on-secondary": readable_text_colour(secondary),
    }


def public_stylesheet(*, primary: str, secondary: str) -> str:
    """The stylesheet of a member's public page: its colours as CSS custom properties of
    ``.org-page``. Served as a file (``directory:colours``) rather than a ``style``
    attribute, which the Content-Security-Policy forbids; every value is a validated
    ``#rrggbb``, so nothing a member typed reaches the CSS."""
    theme = public_theme(primary=primary, secondary=secondary)
    declarations = "".join(f"  {name}: {value};\n" for name, value in theme.items())
    return ".org-page {\n" + declarations + "}\n"


def stylesheet_version(stylesheet: str) -> str:
    """A short digest of the stylesheet: its ETag, and the ``v`` of the address the page
    links to, which changes with the colours (so browsers may keep one version a day)."""
    return hashlib.sha256(stylesheet.encode()).hexdigest()[:16]
