"""A text that is already another intent's example: the message names that intent and offers "move it here"."""

import pytest

from routing.models import Example, Router
from tests.console.conftest import HX

BILLING = "/r/support/intents/billing/"
PLAYGROUND = "/r/support/playground/"


@pytest.fixture
def refund_example(demo_router):
    return Example.objects.filter(intent__router=demo_router, intent__name="refund").first()


def _move_url(example) -> str:
    return f"{BILLING}examples/{example.pk}/move/"


def test_adding_another_intents_example_names_it_and_offers_the_move(
    operator_client, refund_example
):
    response = operator_client.post(
        BILLING + "examples/add/", {"text": refund_example.text}, headers=HX
    )
    assert response.status_code == 200 and 'id="examples"' in response.text
    offers = response.text.split('class="move-offers"')[1].split("</ul>")[0]
    assert "refund" in offers and f'hx-post="{_move_url(refund_example)}"' in offers
    assert "Move it here" in offers
    assert Example.objects.filter(text=refund_example.text).count() == 1


def test_without_javascript_the_offer_survives_the_redirect(operator_client, refund_example):
    response = operator_client.post(BILLING + "examples/add/", {"text": refund_example.text})
    assert response.status_code == 302
    assert response["Location"] == f"{BILLING}?move={refund_example.pk}"
    page = operator_client.get(response["Location"]).text
    assert "already an example of intent refund" in page
    assert f'<form method="post" action="{_move_url(refund_example)}"' in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_move_it_here_relabels_the_example_as_one_new_version(
    operator_client, demo_router, refund_example, headers
):
    version = demo_router.version
    response = operator_client.post(_move_url(refund_example), headers=headers)
    refund_example.refresh_from_db()
    assert refund_example.intent.name == "billing"
    assert Router.objects.get(pk=demo_router.pk).version == version + 1
    text = response.text if headers else operator_client.get(response["Location"]).text
    assert "from refund to billing" in text


def test_viewers_cannot_move(viewer_client, refund_example):
    assert viewer_client.post(_move_url(refund_example)).status_code == 403
    refund_example.refresh_from_db()
    assert refund_example.intent.name == "refund"


def test_the_move_url_only_takes_this_routers_examples(operator_client, refund_example):
    missing = operator_client.post(f"{BILLING}examples/999999/move/")
    assert missing.status_code == 404
    shown = operator_client.get(_move_url(refund_example))
    assert shown.status_code == 302 and shown["Location"] == f"{BILLING}?move={refund_example.pk}"


def test_a_paste_with_another_intents_examples_offers_to_move_them(
    operator_client, demo_router, refund_example
):
    paste = f"a brand new billing line\n{refund_example.text}\n"
    response = operator_client.post(BILLING + "examples/bulk/", {"texts": paste}, headers=HX)
    offers = response.text.split('class="move-offers"')[1].split("</ul>")[0]
    assert refund_example.text in offers and "refund" in offers
    assert _move_url(refund_example) in offers


@pytest.mark.parametrize(
    "query_of", [lambda e: {"q": e.text}, lambda e: {"q": e.text, "before": "refund"}]
)
def test_playground_correction_to_another_intents_example_offers_the_move(
    operator_client, demo_router, refund_example, query_of
):
    payload = {**query_of(refund_example), "intent": "billing"}
    fragment = operator_client.post(PLAYGROUND + "correct/", payload, headers=HX).text
    assert "already an example of intent refund" in fragment
    offer = fragment.split('class="notice move-offer"')[1].split("</form>")[0]
    assert f'name="move" value="{refund_example.pk}"' in offer and "Move it to billing" in offer

    moved = operator_client.post(
        PLAYGROUND + "correct/",
        {"q": refund_example.text, "intent": "billing", "move": refund_example.pk},
        headers=HX,
    ).text
    assert "Moved" in moved and "from refund to billing" in moved
    refund_example.refresh_from_db()
    assert refund_example.intent.name == "billing"


def test_playground_offer_without_javascript(operator_client, refund_example):
    response = operator_client.post(
        PLAYGROUND + "correct/", {"q": refund_example.text, "intent": "billing"}
    )
    assert response.status_code == 302 and f"move={refund_example.pk}" in response["Location"]
    page = operator_client.get(response["Location"]).text
    assert "Move it to billing" in page and "already an example of intent refund" in page
