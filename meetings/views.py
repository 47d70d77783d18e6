from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    """The meetings dashboard: scheduling pages arrive with issue 6."""
    return render(request, "meetings/dashboard.html")
