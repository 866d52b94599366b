"""A consultation's description keeps simple formatting and loses anything that runs."""

from mutualis.procurement.text import sanitise


def test_a_script_is_removed_with_its_code():
    cleaned = sanitise("<p>Travaux</p><script>alert('x')</script>")
    assert cleaned == "<p>Travaux</p>"


def test_event_handlers_styles_and_javascript_links_are_removed():
    cleaned = sanitise(
        '<p onclick="steal()" style="color:red">Lot <a href="javascript:steal()">1</a></p>'
        '<img src=x onerror="steal()">'
    )
    assert "onclick" not in cleaned
    assert "style" not in cleaned
    assert "javascript" not in cleaned
    assert "<img" not in cleaned
    assert "Lot" in cleaned


def test_simple_formatting_and_web_links_are_kept():
    cleaned = sanitise(
        "<p><strong>Visite</strong> obligatoire :</p><ul><li>mardi</li></ul>"
        '<a href="https://example.org/dce">DCE</a>'
    )
    assert "<strong>Visite</strong>" in cleaned
    assert "<ul><li>mardi</li></ul>" in cleaned
    assert 'href="https://example.org/dce"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned
