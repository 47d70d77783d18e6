"""Provider registry: maps a connection's provider name to its implementation."""

from importlib import import_module

from calendars.providers.base import CalendarProvider

_REGISTRY = {
    "google": "calendars.providers.google.GoogleProvider",
    "microsoft": "calendars.providers.microsoft.MicrosoftProvider",
    "exchange": "calendars.providers.exchange.ExchangeProvider",
}

PROVIDER_NAMES = tuple(_REGISTRY)


def provider_class(name: str) -> type[CalendarProvider]:
    try:
        module_name, class_name = _REGISTRY[name].rsplit(".", 1)
    except KeyError:
        raise LookupError(f"Unknown calendar provider {name!r}") from None
    return getattr(import_module(module_name), class_name)


def get_provider(
    name: str, credentials: dict, on_credentials=None, timeout: float | None = None
) -> CalendarProvider:
    return provider_class(name)(credentials, on_credentials, timeout)
