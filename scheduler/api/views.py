"""The public API's OpenAPI document, served from the file kept in the repository."""

from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.http import require_GET

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@require_GET
def openapi(request):
    response = HttpResponse(_document(), content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"  # a public description, readable anywhere
    return response
