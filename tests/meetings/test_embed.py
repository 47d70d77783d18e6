"""The embeddable booking page (?embed=1): no chrome, framed only by the account's allowed
origins, telling its parent about a booking (the browser side is tests/e2e/test_embed.py)."""

from django.urls import reverse

WEBSITE = "https://www.acme.example"


def test_the_embedded_page_is_framed_by_the_allowed_origins_only(client, offline_page, settings):
    settings.EMBED_ALLOWED_ORIGINS = ["https://partner.example"]
    account = offline_page.account
    account.embed_origins = [WEBSITE]
    account.save()
    response = client.get(reverse("public:page", args=[offline_page.slug]), {"embed": "1"})
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert f"frame-ancestors https://partner.example {WEBSITE}" in policy
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    assert 'class="public embed"' in html and 'data-embed="1"' in html
    assert f'data-parent-origins="https://partner.example {WEBSITE}"' in html
    assert 'id="booked"' in html and "topbar" not in html


def test_the_page_itself_is_never_framed(client, offline_page):
    offline_page.account.embed_origins = [WEBSITE]
    offline_page.account.save()
    response = client.get(reverse("public:page", args=[offline_page.slug]))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "data-embed" not in response.content.decode()


def test_without_allowed_origins_nobody_may_frame_the_embed(client, offline_page):
    response = client.get(reverse("public:page", args=[offline_page.slug]), {"embed": "1"})
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert 'data-parent-origins=""' in response.content.decode()


def test_another_accounts_origins_do_not_count(client, offline_page, make_account):
    make_account("Globex", embed_origins=["https://globex.example"])
    response = client.get(reverse("public:page", args=[offline_page.slug]), {"embed": "1"})
    assert "globex" not in response["Content-Security-Policy"]
