from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from routing.models import Router


@login_required
def home(request: HttpRequest) -> HttpResponse:
    routers = Router.objects.order_by("slug")
    return render(request, "console/home.html", {"routers": routers})
