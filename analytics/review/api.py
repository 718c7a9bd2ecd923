"""Review API for labelling tools: list a router's queue, resolve an item (scope `review`)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router

from analytics.review.models import ReviewItem
from analytics.review.schemas import ResolveIn, ResolveOut, ReviewFilters, ReviewPageOut
from analytics.review.selectors import item_page, queue_items
from analytics.review.services import review_resolve
from routing.auth import APIKeyAuth, router_for_key
from routing.exceptions import NotFound, PermissionDenied
from routing.schemas import ERROR_RESPONSES

router = Router(tags=["review"])
MAX_ID = 2**63 - 1  # a bigint primary key


@router.get(
    "/routers/{slug}/review",
    response={200: ReviewPageOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("review"),
    summary="The router's review queue (open items by default), most recently seen first",
)
def review_list(request: HttpRequest, slug: str, filters: Query[ReviewFilters]):
    target = router_for_key(slug=slug, principal=request.auth, fresh=True)
    items = queue_items(target, status=filters.status, reason=filters.reason)
    page, after = item_page(items, after=filters.cursor, limit=filters.limit)
    return {"items": page, "next": after}


@router.post(
    "/review/{item_id}/resolve",
    response={200: ResolveOut, **ERROR_RESPONSES},
    auth=APIKeyAuth("review"),
    summary="Confirm, relabel, mark out of scope, add as an example, or dismiss one item",
)
def review_resolve_one(
    request: HttpRequest, payload: ResolveIn, item_id: int = Path(..., ge=1, le=MAX_ID)
):
    item = ReviewItem.objects.defer("vector").filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"No review item {item_id}.", details={"item_id": item_id})
    if request.auth.router_ids is not None and item.router_id not in request.auth.router_ids:
        raise PermissionDenied("This API key may not review that router's items.")
    resolution = review_resolve(
        item=item,
        action=payload.action,
        intent=payload.intent,
        author_label=f"key {request.auth.name}",
    )
    resolution.item.router_version = resolution.version
    return resolution.item
