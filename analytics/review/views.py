"""Review queue pages: the queue (filters, one-key actions, bulk), an item's audit trail, undo.

Every action is a form that POSTs and redirects back; htmx swaps just the item instead.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analytics.review.forms import QueueFilterForm
from analytics.review.models import ReviewItem, ReviewStatus
from analytics.review.selectors import item_page, queue_counts, queue_items
from analytics.review.services import review_bulk, review_resolve, review_undo
from routing.console.common import render_page
from routing.exceptions import APIError
from routing.permissions import router_for

KEYED_INTENTS = 9  # intents 1-9 get a number key


def _intents(router) -> list:
    return list(router.intents.filter(enabled=True).order_by("name"))


def _queue_url(router, request: HttpRequest) -> str:
    url = reverse("review:queue", args=[router.slug])
    back = request.POST.get("next", "")
    return back if back.startswith(url) else url


@login_required
@require_GET
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug)
    form = QueueFilterForm(request.GET or None)
    values = form.cleaned_data if form.is_valid() else {}
    status = values.get("status") or ReviewStatus.OPEN
    after = request.GET.get("after", "")
    items, next_after = item_page(
        queue_items(router, status=status, reason=values.get("reason") or None),
        after=int(after) if after.isdigit() else None,
    )
    context = {
        "router": router,
        "form": form,
        "status": status,
        "items": items,
        "tabs": _tabs(router, form),
        "intents": _intents(router),
        "keyed": KEYED_INTENTS,
        "next_after": next_after,
        "here": request.get_full_path(),
    }
    return render_page(request, "analytics/review/queue.html", context, partial="items")


def _tabs(router, form: QueueFilterForm) -> list[tuple[str, str, int | None]]:
    counts = queue_counts(router)
    return [(value, label, counts.get(value)) for value, label in form.fields["status"].choices]


def _item_for(request: HttpRequest, slug: str, pk: int, *, edit: bool = False):
    router = router_for(request.user, slug, edit=edit)
    return router, get_object_or_404(ReviewItem.objects.defer("vector"), router=router, pk=pk)


def _choice(raw: str) -> tuple[str, str | None]:
    """A button's "do" value: "confirm", "out_of_scope", "dismiss", "add_example:X", "relabel:X"."""
    action, _, intent = raw.partition(":")
    return action, intent or None


def _item_response(request: HttpRequest, router, item: ReviewItem, note: str = "") -> HttpResponse:
    if not request.htmx:
        if note:
            messages.info(request, note)
        return redirect(_queue_url(router, request))
    item.refresh_from_db()
    context = {
        "router": router,
        "item": item,
        "intents": _intents(router),
        "keyed": KEYED_INTENTS,
        "note": note,
        "here": request.POST.get("next", ""),
    }
    return render_page(request, "analytics/review/_item.html", context)


@login_required
@require_POST
def item_resolve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, item = _item_for(request, slug, pk, edit=True)
    action, intent = _choice(request.POST.get("do", ""))
    try:
        resolution = review_resolve(item=item, action=action, intent=intent, user=request.user)
    except APIError as exc:
        return _item_response(request, router, item, exc.message)
    version = f" Version {resolution.version}." if resolution.version else ""
    status = resolution.item.get_status_display()
    label = f" → {item.reviewed_intent}" if item.reviewed_intent else ""
    done = f"“{item.query[:60]}”: {status}{label}.{version}"
    return _item_response(request, router, item, f"{done} {resolution.note}".strip())


@login_required
@require_POST
def item_undo(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, item = _item_for(request, slug, pk, edit=True)
    try:
        event = review_undo(item=item, user=request.user)
    except APIError as exc:
        return _item_response(request, router, item, exc.message)
    return _item_response(request, router, item, f"Undid {event.get_action_display()}.")


@login_required
@require_POST
def queue_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    ids = [int(pk) for pk in request.POST.getlist("item") if pk.isdigit()]
    items = list(
        ReviewItem.objects.defer("vector").filter(router=router, pk__in=ids).order_by("id")
    )
    action, intent = _choice(request.POST.get("do", ""))
    intent = intent or request.POST.get("intent") or None
    if not items:
        messages.error(request, "Select at least one item.")
    else:
        try:
            resolutions = review_bulk(items=items, action=action, intent=intent, user=request.user)
        except APIError as exc:
            messages.error(request, exc.message)
        else:
            versions = {r.version for r in resolutions if r.version}
            made = f" Version {max(versions)}." if versions else ""
            messages.success(
                request, f"{len(resolutions)} item(s): {action.replace('_', ' ')}.{made}"
            )
    return redirect(_queue_url(router, request))


@login_required
@require_GET
def item_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    router, item = _item_for(request, slug, pk)
    context = {
        "router": router,
        "item": item,
        "events": item.events.select_related("user", "undone_by", "example"),
        "decisions": item.decisions.order_by("-created_at")[:100],
        "intents": _intents(router),
        "keyed": KEYED_INTENTS,
        "here": reverse("review:item", args=[router.slug, item.pk]),
    }
    return render_page(request, "analytics/review/item.html", context)
