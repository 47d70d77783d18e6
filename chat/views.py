from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def conversations(request):
    return render(request, "chat/conversations.html")
