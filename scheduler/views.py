from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scheduler import plans
from scheduler.forms import DomainForm, InviteUserForm, ProfileForm, UserAccessForm
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
            domain = form.save(commit=False)
            domain.account = account
            domain.save()
            messages.success(request, f"{domain.hostname} was added. Verify it to use it.")
            return redirect("settings:domains")
    context = {"form": form, "gate": gate, "domains": account.domains.all()}
    return render(
        request, "scheduler/settings_domains.html", context, status=400 if form.errors else 200
    )


@account_admin_required
@require_POST
def settings_domain_delete(request, domain_id: int):
    domain = get_object_or_404(Domain, pk=domain_id, account=request.user.account)
    domain.delete()
    messages.success(request, f"{domain.hostname} was removed.")
    return redirect("settings:domains")
