from django import template

register = template.Library()


@register.filter
def fields_named(form, names: str):
    """The form's bound fields named in a comma-separated list, in that order."""
    return [form[name] for name in names.split(",") if name in form.fields]


@register.filter
def page_url(page) -> str:
    """A scheduling page's public address (on its owner's meeting domain when chosen)."""
    from meetings import urlrules

    return urlrules.page_url(page) if page else ""
