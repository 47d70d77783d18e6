from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def contacts(request):
    """Contacts list: the CRM arrives with issue 5."""
    return render(request, "crm/contacts.html")
