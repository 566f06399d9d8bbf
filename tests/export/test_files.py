"""File names from graph names: never a path, never a broken header."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from netcanvas.export.files import MAX_STEM, content_disposition, file_stem


@pytest.mark.parametrize("name,stem", [
    ("LeNet digits", "LeNet_digits"),
    ("../../etc/passwd", "etc_passwd"),
    ("..", "model"),
    ("", "model"),
    (None, "model"),
    ('a"b\r\nSet-Cookie: x=1', "a_b_Set-Cookie_x_1"),
    ("C:\\Windows\\system32", "C_Windows_system32"),
    ("模型 ñ", "模型_ñ"),
    ("a\u2028b\x85c\u202ed", "a_b_c_d"),  # line separators, NEL, right-to-left override
    (".hidden.", "hidden"),
])
def test_file_stem_keeps_letters_digits_dots_and_dashes(name: object, stem: str) -> None:
    assert file_stem(name) == stem


def test_file_stem_is_short() -> None:
    assert file_stem("x" * 10_000) == "x" * MAX_STEM


@pytest.mark.parametrize("stem,fallback", [("LeNet_digits", "LeNet_digits"), ("模型_ñ", "model"),
                                           ("net_模型", "net"), ("a\r\nb", "a_b")])
def test_content_disposition_has_an_ascii_name_and_the_exact_one(stem: str, fallback: str) -> None:
    header = content_disposition(stem, "-run1.onnx")
    header.encode("ascii")  # a header value is ASCII: no CR, LF or anything else that could end it
    plain, exact = header.split("; ")[1:]
    assert header.startswith("attachment; ") and plain == f'filename="{fallback}-run1.onnx"'
    assert exact.startswith("filename*=UTF-8''")
    assert unquote(exact.removeprefix("filename*=UTF-8''")) == f"{stem}-run1.onnx"
