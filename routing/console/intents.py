"""An intent's page: its examples (add one, paste many, delete, search) and its conflicts."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from routing.conflicts import router_conflicts
from routing.console import selectors
from routing.console.common import delete_confirmation, render_page, router_intent
from routing.forms import BulkExamplesForm, ExampleForm, ExampleSearchForm
from routing.models import Example, Intent, Router
from routing.permissions import router_for
from routing.services.examples import (
    ExampleOwnedElsewhere,
    example_add,
    example_move,
    examples_add_bulk,
)
from routing.services.versioning import config_object_delete

EXAMPLES_PER_PAGE = 100


def _page_number(raw: str | None) -> int:
    """?page= as a page number: anything but a positive integer is the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _move_ids(raw: str) -> list[int]:
    """?move=3,17: examples of other intents whose "move it here" offer the page shows."""
    return [int(part) for part in raw.split(",") if part.isdigit()][: selectors.MAX_MOVE_OFFERS]


def _intent_context(
    router: Router, intent: Intent, search: str = "", page: int = 1, move_offers=()
) -> dict:
    examples = intent.examples.order_by("-id")
    if search:
        examples = examples.filter(text__icontains=search)
    # get_page turns a number past the end into the last page.
    page_obj = Paginator(examples, EXAMPLES_PER_PAGE).get_page(page)
    return {
        "router": router,
        "intent": intent,
        "search": search,
        "page_obj": page_obj,
        "examples": page_obj.object_list,
        "example_total": intent.examples.count(),
        # A callable: only the fragments that show conflicts compute them (templates call it).
        "conflicts": functools.partial(router_conflicts, router, intent=intent),
        "example_form": ExampleForm(),
        "bulk_form": BulkExamplesForm(),
        "move_offers": move_offers,
    }


@login_required
@require_GET
def intent_detail(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """The intent's page; ?q= searches its examples and ?page= pages through them (100 a page)."""
    router = router_for(request.user, slug)
    intent = router_intent(router, name)
    search = ExampleSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    offers = selectors.examples_elsewhere(
        router, intent, ids=_move_ids(request.GET.get("move", ""))
    )
    context = _intent_context(
        router, intent, query, _page_number(request.GET.get("page")), move_offers=offers
    )
    return render_page(request, "console/intent.html", context, partial="example_list")


@login_required
@require_POST
def intent_example_add(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = router_intent(router, name)
    form = ExampleForm(request.POST)
    feedback, offers = [], []
    if form.is_valid():
        try:
            example_add(intent=intent, text=form.cleaned_data["text"], user=request.user)
            feedback.append(("success", "Example added."))
            form = ExampleForm()
        except ExampleOwnedElsewhere as exc:
            feedback.extend(("error", message) for message in exc.messages)
            offers = selectors.examples_elsewhere(router, intent, ids=[exc.example_id])
        except ValidationError as exc:
            feedback.extend(("error", message) for message in exc.messages)
    else:
        feedback.extend(
            ("error", f"{field}: {error}")
            for field, errors in form.errors.items()
            for error in errors
        )
    return _examples_response(
        request, router, intent, feedback, move_offers=offers, example_form=form
    )


@login_required
@require_POST
def intent_examples_bulk(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    router = router_for(request.user, slug, edit=True)
    intent = router_intent(router, name)
    form = BulkExamplesForm(request.POST)
    if not form.is_valid():
        feedback = [("error", error) for errors in form.errors.values() for error in errors]
        return _examples_response(request, router, intent, feedback, bulk_form=form)
    result = examples_add_bulk(intent=intent, texts=form.lines(), user=request.user)
    feedback = [
        (
            "success" if result.added else "warning",
            f"Added {len(result.added)}; {len(result.duplicates)} duplicate(s), {result.blank_lines} blank line(s), "
            f"{len(result.rejected)} rejected.",
        )
    ]
    feedback.extend(("error", f"Rejected “{text}”: {why}") for text, why in result.rejected[:20])
    pasted = [line.strip() for line in form.lines() if line.strip()]
    offers = selectors.examples_elsewhere(router, intent, texts=pasted)
    return _examples_response(
        request, router, intent, feedback, move_offers=offers, bulk_result=result
    )


@login_required
@require_http_methods(["GET", "POST"])
def intent_example_delete(request: HttpRequest, slug: str, name: str, pk: int) -> HttpResponse:
    """GET asks "Delete example …?" (without JavaScript); POST deletes it."""
    router = router_for(request.user, slug, edit=True)
    intent = router_intent(router, name)
    example = get_object_or_404(intent.examples, pk=pk)
    if request.method == "GET":
        return delete_confirmation(
            request,
            router,
            what=f"example “{example.text}” of {intent.name}",
            consequences=[],
            cancel_url=reverse("console:intent", kwargs={"slug": router.slug, "name": name}),
            active="intents",
        )
    config_object_delete(obj=example, user=request.user)
    return _examples_response(request, router, intent, [("success", f"Deleted “{example.text}”.")])


@login_required
@require_http_methods(["GET", "POST"])
def intent_example_move(request: HttpRequest, slug: str, name: str, pk: int) -> HttpResponse:
    """ "Move it here": relabel another intent's example as this intent (GET shows the offer)."""
    router = router_for(request.user, slug, edit=True)
    intent = router_intent(router, name)
    example = get_object_or_404(
        Example.objects.select_related("intent"), pk=pk, intent__router=router
    )
    if request.method == "GET":
        return redirect(_intent_url(router, intent, move=[example.pk]))
    source = example.intent.name
    example_move(example=example, intent=intent, user=request.user)
    feedback = [("success", f"Moved “{example.text}” from {source} to {intent.name}.")]
    return _examples_response(request, router, intent, feedback)


def _intent_url(router: Router, intent: Intent, *, move: list[int]) -> str:
    url = reverse("console:intent", kwargs={"slug": router.slug, "name": intent.name})
    return f"{url}?move={','.join(map(str, move))}" if move else url


def _examples_response(
    request: HttpRequest,
    router: Router,
    intent: Intent,
    feedback: list[tuple[str, str]],
    move_offers=(),
    **forms,
) -> HttpResponse:
    if not request.htmx:
        for level, text in feedback:
            messages.add_message(request, getattr(messages, level.upper()), text)
        return redirect(_intent_url(router, intent, move=[other.pk for other in move_offers]))
    context = {
        **_intent_context(router, intent, move_offers=move_offers),
        "feedback": feedback,
        **forms,
    }
    return render_page(request, "console/intent.html#examples", context)
