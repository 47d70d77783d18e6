"""Allowed embedding origins: only exact https origins (plain http on loopback only)."""

import pytest
from django.core.exceptions import ValidationError

from scheduler.origins import clean_origin, clean_origins


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://www.example.com", "https://www.example.com"),
        ("  HTTPS://WWW.Example.COM/  ", "https://www.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://203.0.113.7", "https://203.0.113.7"),
        ("http://localhost:8002", "http://localhost:8002"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(raw, origin):
    assert clean_origin(raw) == origin


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://www.example.com", "Use https://"),
        ("https://*.example.com", "Wildcards"),
        ("https://www.example.com/shop", "no path"),
        ("https://www.example.com/?q=1", "no user name, query or fragment"),
        ("https://user@www.example.com", "no user name, query or fragment"),
        ("www.example.com", "Write an origin like"),
        ("javascript:alert(1)", "Write an origin like"),
        ("https://exa mple.com", "Write an origin like"),
        ("https://com", "Write an origin like"),
        ("https://example.com:99999", "Write an origin like"),
        ("'self'", "Write an origin like"),
        ("https://example.com; img-src data:", "Write an origin like"),
    ],
)
def test_anything_looser_than_an_origin_is_refused(raw, reason):
    with pytest.raises(ValidationError) as error:
        clean_origin(raw)
    assert reason in error.value.messages[0]


def test_a_list_is_normalised_deduplicated_and_every_bad_line_reported():
    assert clean_origins("https://a.example\nhttps://A.example/, https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]
    with pytest.raises(ValidationError) as error:
        clean_origins("https://ok.example\nhttp://bad.example\nnope")
    assert [m.split(":")[0] for m in error.value.messages] == ["http", "nope"]
    with pytest.raises(ValidationError, match="At most 20"):
        clean_origins(" ".join(f"https://s{n}.example" for n in range(21)))
