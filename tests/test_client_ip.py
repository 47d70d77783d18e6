import pytest
from django.test import RequestFactory

from scheduler.client_ip import client_ip


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("1.1.1.1, 10.0.0.2", "10.0.0.2"),  # our proxy appended the peer it saw last
        ("1.1.1.1, garbage", "1.1.1.1"),
        ("", "127.0.0.1"),
        (None, "127.0.0.1"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_behind_a_proxy_never_fails(settings, forwarded, expected):
    settings.USE_X_FORWARDED_FOR = True
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_without_a_proxy_the_header_is_ignored(settings):
    settings.USE_X_FORWARDED_FOR = False
    assert client_ip(RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6")) == "127.0.0.1"
