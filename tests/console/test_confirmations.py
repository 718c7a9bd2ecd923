"""Deleting an intent, example, rule or tier asks first: hx-confirm with htmx, a confirmation page without."""

import pytest

from routing.models import Example, Intent, ModelTier, RouterVersion, Rule
from tests.console.conftest import HX


def _intent(router):
    return Intent.objects.get(router=router, name="billing")


def _example(router):
    return Example.objects.filter(intent__router=router, intent__name="billing").first()


def _rule(router):
    return Rule.objects.filter(router=router, kind="keyword").first()


def _tier(router):
    return ModelTier.objects.get(router=router, name="claude-sonnet-4")


# (object, its delete URL, the page that lists it, the question asked, where a plain delete lands)
TARGETS = [
    (
        _intent,
        lambda o: "/r/support/intents/billing/delete/",
        "/r/support/intents/billing/",
        lambda o: "Delete intent billing?",
        "/r/support/",
    ),
    (
        _example,
        lambda o: f"/r/support/intents/billing/examples/{o.pk}/delete/",
        "/r/support/intents/billing/",
        lambda o: "Delete example “",
        "/r/support/intents/billing/",
    ),
    (
        _rule,
        lambda o: f"/r/support/rules/{o.pk}/delete/",
        "/r/support/rules/",
        lambda o: f"Delete rule {o}?",
        "/r/support/rules/",
    ),
    (
        _tier,
        lambda o: f"/r/support/tiers/{o.pk}/delete/",
        "/r/support/tiers/",
        lambda o: "Delete tier claude-sonnet-4?",
        "/r/support/tiers/",
    ),
]
IDS = ["intent", "example", "rule", "tier"]


@pytest.mark.parametrize(("fetch", "url", "listing", "question", "landing"), TARGETS, ids=IDS)
def test_the_listing_asks_with_hx_confirm_and_links_to_the_confirmation_page(
    operator_client, demo_router, fetch, url, listing, question, landing
):
    obj = fetch(demo_router)
    page = operator_client.get(listing).text
    link = page.split(f'href="{url(obj)}"')[1].split(">")[0]
    assert f'hx-post="{url(obj)}"' in link and "hx-confirm=" in link


@pytest.mark.parametrize(("fetch", "url", "listing", "question", "landing"), TARGETS, ids=IDS)
def test_get_shows_the_confirmation_page_and_deletes_nothing(
    operator_client, demo_router, fetch, url, listing, question, landing
):
    obj = fetch(demo_router)
    versions = RouterVersion.objects.filter(router=demo_router).count()
    page = operator_client.get(url(obj))
    assert page.status_code == 200 and 'id="confirm-delete"' in page.text
    assert question(obj) in page.text
    assert f'<form method="post" action="{url(obj)}"' in page.text
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert RouterVersion.objects.filter(router=demo_router).count() == versions


@pytest.mark.parametrize(("fetch", "url", "listing", "question", "landing"), TARGETS, ids=IDS)
def test_post_from_the_confirmation_page_deletes_and_redirects(
    operator_client, demo_router, fetch, url, listing, question, landing
):
    obj = fetch(demo_router)
    response = operator_client.post(url(obj))
    assert response.status_code == 302 and response["Location"] == landing
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    assert "Deleted" in operator_client.get(landing).text


@pytest.mark.parametrize(("fetch", "url", "listing", "question", "landing"), TARGETS, ids=IDS)
def test_htmx_delete_after_hx_confirm(
    operator_client, demo_router, fetch, url, listing, question, landing
):
    obj = fetch(demo_router)
    response = operator_client.post(url(obj), headers=HX)
    assert response.status_code == 200
    if type(obj) is Example:  # the examples card is swapped in place
        assert 'id="examples"' in response.text and "Deleted" in response.text
    else:  # the whole page reloads where the plain redirect goes
        assert response["HX-Redirect"] == landing
    assert not type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(("fetch", "url", "listing", "question", "landing"), TARGETS, ids=IDS)
def test_viewers_see_no_confirmation_page(
    viewer_client, demo_router, fetch, url, listing, question, landing
):
    assert viewer_client.get(url(fetch(demo_router))).status_code == 403


def test_tier_confirmation_says_what_depends_on_it(operator_client, demo_router):
    tier = _tier(demo_router)
    Intent.objects.filter(router=demo_router, name="refund").update(min_tier=tier)
    page = operator_client.get(f"/r/support/tiers/{tier.pk}/delete/").text
    assert "min-tier rule(s) go with it" in page
    assert "Intents that lose it as their minimum tier: refund." in page
