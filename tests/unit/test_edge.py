"""The edge's checks (mutualis.core.edge), on requests built by hand."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from mutualis.core import edge
from mutualis.core.errors import ControlCharacter, InputTooLong, InvalidEncoding


def test_line_breaks_and_tabs_are_text():
    edge.check_urlencoded(b"comment=line%0D%0Abreak%09tab")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"q=a%00b", ControlCharacter),
        (b"q=a%1Bb", ControlCharacter),
        (b"q%00=a", ControlCharacter),
        (b"q=%FF%FE", InvalidEncoding),
        (b"q=" + b"x" * 10_001, InputTooLong),
    ],
)
def test_unusable_form_input_is_refused(raw, error):
    with pytest.raises(error):
        edge.check_urlencoded(raw)


def test_a_lone_surrogate_in_json_is_refused():
    with pytest.raises(InvalidEncoding):
        edge.check_json(b'{"name": "\\ud800"}')


def test_json_that_is_not_json_is_left_to_the_operation():
    edge.check_json(b"{not json")


def test_a_view_that_reads_its_own_body_is_not_read_at_the_edge():
    request = RequestFactory().post(
        "/upload/", "a=%00", content_type="application/x-www-form-urlencoded"
    )
    middleware = edge.EdgeMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]

    answered = middleware.process_view(request, edge.raw_body(lambda r: None), (), {})

    assert answered is None
    assert request.read() == b"a=%00"  # the stream is still the view's to read


def test_a_streamed_body_of_another_kind_is_never_read():
    request = RequestFactory().post(
        "/upload/", b"\x00" * 100, content_type="application/octet-stream"
    )
    edge.check_body(request)

    assert request.read() == b"\x00" * 100
