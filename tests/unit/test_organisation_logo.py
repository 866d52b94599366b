"""Logo uploads: PNG or JPEG only, at most 1 MB and 4000 pixels a side."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mutualis.core import errors
from mutualis.core.services.organisations import check_logo


def upload(data: bytes, name: str = "logo") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def image(fmt: str, size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg")])
def test_png_and_jpeg_are_accepted_whatever_their_name(fmt, extension):
    file = upload(image(fmt), name="picture.svg")
    assert check_logo(file) == extension
    assert file.tell() == 0  # left ready to be stored


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_image_formats_are_refused(fmt):
    with pytest.raises(errors.LogoFormatRefused):
        check_logo(upload(image(fmt)))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.7\n",
    ],
)
def test_non_images_are_refused(data):
    with pytest.raises(errors.LogoFormatRefused) as excinfo:
        check_logo(upload(data))
    assert excinfo.value.code == "logo_format_refused"
    assert excinfo.value.field == "logo"


def test_a_file_over_one_megabyte_is_refused_before_reading():
    with pytest.raises(errors.LogoTooLarge):
        check_logo(upload(b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024)))


def test_a_truncated_png_is_reported_as_damaged():
    data = image("PNG", size=(200, 200))
    with pytest.raises(errors.LogoDamaged):
        check_logo(upload(data[: len(data) // 2]))


@pytest.mark.parametrize("size", [(4001, 1), (1, 4001)])
def test_an_image_over_4000_pixels_a_side_is_refused(size):
    with pytest.raises(errors.LogoDimensionsTooLarge):
        check_logo(upload(image("PNG", size=size)))


def test_an_image_of_exactly_4000_pixels_is_accepted():
    assert check_logo(upload(image("PNG", size=(4000, 1)))) == "png"
