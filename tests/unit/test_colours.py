import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.directory.colours import (
    BLACK,
    WHITE,
    contrast_ratio,
    is_hex_colour,
    public_theme,
    readable_text_colour,
    relative_luminance,
)

hex_colours = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_luminance_of_black_and_white():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#FFFFFF") == pytest.approx(1)


def test_contrast_of_black_on_white_is_21():
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21)
    assert contrast_ratio(WHITE, BLACK) == pytest.approx(21)


def test_contrast_matches_known_values():
    """Well-known values: #767676 is the lightest grey that passes AA on white."""
    assert contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", WHITE) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ff0000", WHITE) == pytest.approx(4.0, abs=0.01)


@pytest.mark.parametrize(
    ("background", "text"),
    [
        ("#1d4e89", WHITE),  # the default primary colour: dark blue
        ("#f2f5f9", BLACK),  # the default secondary colour: light grey
        ("#ffff00", BLACK),
        ("#000080", WHITE),
        ("#ff0000", BLACK),  # pure red: black contrasts more than white
        ("#767676", BLACK),
    ],
)
def test_text_colour_follows_background(background, text):
    assert readable_text_colour(background) == text


@given(hex_colours)
def test_text_on_any_colour_reaches_wcag_aa(background):
    assert contrast_ratio(background, readable_text_colour(background)) >= 4.5


def test_not_a_colour_is_refused():
    assert not is_hex_colour("red")
    assert not is_hex_colour("#fff")
    assert not is_hex_colour("#12345g")
    with pytest.raises(ValueError, match="rrggbb"):
        relative_luminance("url(javascript:x)")


def test_theme_gives_custom_properties_with_readable_text():
    assert public_theme(primary="#FFFF00", secondary="#000080") == {
        "--org-primary": "#ffff00",
        "--org-on-primary": BLACK,
        "--org-secondary": "#000080",
        "--org-on-secondary": WHITE,
    }


def test_theme_replaces_a_colour_that_escaped_validation():
    theme = public_theme(primary="red;} body{display:none", secondary="")
    assert theme["--org-primary"] == "#1d4e89"
    assert theme["--org-secondary"] == "#f2f5f9"
