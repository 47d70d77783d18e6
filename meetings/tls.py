"""The reverse proxy's question before it gets a certificate for a host name (Caddy's
on-demand TLS `ask`): yes only for the app's own host and connected custom domains, so
nobody can make the proxy request certificates for names that are not ours.

Served on the app's host over plain http (exempt from the https redirect) without
authentication: it tells no more than whether a domain serves scheduling pages, which
anyone can see by visiting it. Deployments keep it off the internet (the Caddyfile answers
/tls/* with 404 for outside visitors). Unknown names are remembered for a minute by
`custom_domain`, so a flood of questions costs no queries.
"""

from django.http import HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET

from meetings.middleware import custom_domain
from scheduler.domains import is_app_host


@require_GET
def ask(request):
    name = request.GET.get("domain", "").strip().lower().rstrip(".")
    if 0 < len(name) <= 253 and (is_app_host(name) or custom_domain(name) is not None):
        return HttpResponse("ok", content_type="text/plain")
    return HttpResponseNotFound("unknown domain", content_type="text/plain")
