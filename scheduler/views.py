from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from scheduler import availability_cache, domains, plans
from scheduler.forms import (
    DomainForm,
    DomainRobotsForm,
    InviteUserForm,
    ProfileForm,
    UserAccessForm,
)
from scheduler.models import Domain, User
from scheduler.permissions import account_admin_required
from scheduler.users import invite_user, update_user_access


def home(request):
    if request.user.is_authenticated:
        return redirect("meetings:dashboard")
    return redirect("account_login")


@login_required
def settings_general(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if "timezone" in form.changed_data:  # hours nobody set follow the profile's zone
            availability_cache.bump([request.user.pk])
        messages.success(request, "Your profile was saved.")
        return redirect("settings:general")
    status = 400 if form.errors else 200
    return render(request, "scheduler/settings_general.html", {"form": form}, status=status)


@account_admin_required
def settings_users(request):
    account = request.user.account
    form = InviteUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = invite_user(account, request.user, **form.cleaned_data)
        messages.success(request, f"Invitation sent to {user.email}.")
        return redirect("settings:users")
    return _render_users(request, form, status=400 if form.errors else 200)


def _render_users(request, invite_form, failed_access_form=None, status=200):
    rows = []
    for member in request.user.account.users.order_by("email"):
        if failed_access_form is not None and failed_access_form.instance.pk == member.pk:
            rows.append((member, failed_access_form))
        else:
            rows.append((member, UserAccessForm(instance=member, prefix=f"u{member.pk}")))
    context = {"form": invite_form, "rows": rows}
    return render(request, "scheduler/settings_users.html", context, status=status)


@account_admin_required
@require_POST
def settings_user_update(request, user_id: int):
    target = get_object_or_404(User, pk=user_id, account=request.user.account)
    form = UserAccessForm(request.POST, instance=target, prefix=f"u{target.pk}")
    if form.is_valid():
        try:
            update_user_access(target, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
    if form.errors:
        return _render_users(request, InviteUserForm(), failed_access_form=form, status=400)
    messages.success(request, f"Access for {target.email} was updated.")
    return redirect("settings:users")


@account_admin_required
def settings_domains(request):
    account = request.user.account
    gate = plans.custom_domains(account)
    form = DomainForm(request.POST or None)
    if request.method == "POST":
        if not gate:
            messages.error(request, gate.reason)
            return redirect("settings:domains")
        if form.is_valid():
            domain = domains.add_domain(account, form.cleaned_data["hostname"])
            messages.success(
                request,
                f"{domain.display_name} was added. Create the two DNS records below, then "
                "select Verify.",
            )
            return redirect(f"{reverse('settings:domains')}#domain-{domain.pk}")
    return _render_domains(request, form, status=400 if form.errors else 200)


def _render_domains(request, form, failed_robots=None, status=200):
    rows = []
    for domain in request.user.account.domains.all():
        robots = DomainRobotsForm(
            initial={"robots": "hide" if domain.hide_meetings_from_search else "allow"},
            prefix=f"d{domain.pk}",
        )
        if failed_robots is not None and failed_robots.prefix == f"d{domain.pk}":
            robots = failed_robots
        rows.append(
            {
                "domain": domain,
                "records": domains.expected_records(domain),
                "served_until": domains.served_until(domain),
                "robots_form": robots,
            }
        )
    context = {
        "form": form,
        "gate": plans.custom_domains(request.user.account),
        "rows": rows,
        "grace_hours": settings.CUSTOM_DOMAIN_GRACE_HOURS,
    }
    return render(request, "scheduler/settings_domains.html", context, status=status)


def _my_domain(request, domain_id: int) -> Domain:
    return get_object_or_404(Domain, pk=domain_id, account=request.user.account)


@account_admin_required
@require_POST
def settings_domain_verify(request, domain_id: int):
    gate = plans.custom_domains(request.user.account)
    if not gate:
        messages.error(request, gate.reason)
        return redirect("settings:domains")
    domain = domains.verify_domain(_my_domain(request, domain_id).pk)
    if domain.status == Domain.Status.VERIFIED:
        messages.success(
            request,
            f"{domain.display_name} is verified. Choose it as your meeting domain in "
            "Settings > General > Calendar.",
        )
    else:
        messages.error(request, f"{domain.display_name} is not verified yet: see what is missing.")
    return redirect(f"{reverse('settings:domains')}#domain-{domain.pk}")


@account_admin_required
@require_POST
def settings_domain_robots(request, domain_id: int):
    domain = _my_domain(request, domain_id)
    form = DomainRobotsForm(request.POST, prefix=f"d{domain.pk}")
    if not form.is_valid():
        return _render_domains(request, DomainForm(), failed_robots=form, status=400)
    domains.set_robots(domain, hide_meetings=form.cleaned_data["robots"] == "hide")
    messages.success(request, f"robots.txt of {domain.display_name} was updated.")
    return redirect(f"{reverse('settings:domains')}#domain-{domain.pk}")


@account_admin_required
@require_POST
def settings_domain_delete(request, domain_id: int):
    domain = _my_domain(request, domain_id)
    domains.remove_domain(domain)
    messages.success(
        request,
        f"{domain.display_name} was removed. Meeting links now use the app's own address; "
        "your pages keep working there.",
    )
    return redirect("settings:domains")
