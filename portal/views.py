from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.notifications import notification_mark_all_read, notification_mark_read
from portal.permissions import get_notification_for_user
from portal.selectors import notification_list_for


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("customers:asset_list")


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return render(request, "403.html", status=403)


def bad_request(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return render(request, "400.html", status=400)


def server_error(request):
    if _wants_json(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return render(request, "500.html", status=500)


# --- Notifications inbox ---------------------------------------------------------------

INBOX_PAGE_SIZE = 25


@login_required
def notification_list(request):
    """The inbox: the user's own notifications, newest first, paginated."""
    page = Paginator(notification_list_for(request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/notification_list.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk):
    """Mark one read; with ``open`` in the form, go on to the object it is about."""
    notification = get_notification_for_user(request.user, pk)
    notification_mark_read(actor=request.user, notification=notification)
    if "open" in request.POST and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.link)
    return redirect(_inbox_return(request))


@login_required
@require_POST
def notification_read_all(request):
    changed = notification_mark_all_read(actor=request.user)
    messages.success(request, f"{changed} notification(s) marked read.")
    return redirect(_inbox_return(request))


def _inbox_return(request) -> str:
    """Back to the inbox page the form was on (only a page number is taken from the form)."""
    page = request.POST.get("page", "")
    return reverse("notification_list") + (f"?page={page}" if page.isdigit() else "")
