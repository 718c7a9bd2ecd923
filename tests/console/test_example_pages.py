"""The intent page pages through its examples, 100 at a time, keeping the search across pages."""

import pytest

from routing.models import Example, Intent
from tests.console.conftest import HX

BILLING = "/r/support/intents/billing/"


@pytest.fixture
def many_examples(demo_router):
    intent = Intent.objects.get(router=demo_router, name="billing")
    Example.objects.bulk_create(
        Example(intent=intent, text=f"{'odd' if i % 2 else 'even'} invoice question {i:04d}")
        for i in range(250)
    )
    return intent.examples.count()


def _rows(html: str) -> list[str]:
    body = html.split('id="example-list"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [row.split("<td>")[1].split("</td>")[0] for row in body.split("<tr>")[1:]]


def test_the_first_page_shows_100_examples_and_a_link_to_the_next(operator_client, many_examples):
    page = operator_client.get(BILLING).text
    assert len(_rows(page)) == 100
    pages = -(-many_examples // 100)
    assert f"Page 1 of {pages}" in page and "showing 1–100" in page
    assert f'href="{BILLING}?page=2" rel="next"' in page and 'rel="prev"' not in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_every_example_is_on_exactly_one_page(operator_client, many_examples, headers):
    seen = []
    for number in range(1, -(-many_examples // 100) + 1):
        seen += _rows(operator_client.get(BILLING, {"page": number}, headers=headers).text)
    assert len(seen) == len(set(seen)) == many_examples


def test_the_search_is_kept_across_pages_plain_and_htmx(operator_client, many_examples):
    first = operator_client.get(BILLING, {"q": "odd"}).text
    assert "125 matching “odd”" in first and "Page 1 of 2" in first
    assert f'href="{BILLING}?q=odd&amp;page=2" rel="next"' in first
    assert f'hx-get="{BILLING}?q=odd&amp;page=2"' in first
    second = operator_client.get(BILLING, {"q": "odd", "page": 2}, headers=HX).text
    assert second.lstrip().startswith('<div id="example-list">')
    rows = _rows(second)
    assert len(rows) == 25 and all(row.startswith("odd ") for row in rows)
    assert f'href="{BILLING}?q=odd&amp;page=1" rel="prev"' in second


@pytest.mark.parametrize(("page", "shown"), [("0", 1), ("-3", 1), ("abc", 1), ("99", 3), ("", 1)])
def test_a_page_number_out_of_range_or_not_a_number_shows_a_real_page(
    operator_client, many_examples, page, shown
):
    response = operator_client.get(BILLING, {"page": page})
    assert response.status_code == 200 and f"Page {shown} of 3" in response.text


def test_a_search_with_one_page_of_results_shows_no_pager(operator_client, many_examples):
    page = operator_client.get(BILLING, {"q": "question 0001"}).text
    assert len(_rows(page)) == 1 and 'class="pager"' not in page
