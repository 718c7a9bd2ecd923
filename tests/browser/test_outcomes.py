"""In Chromium: import RouteLLM's CSV, the fit's page, the cost-vs-quality chart and the target."""

from __future__ import annotations

import pytest

from analytics.outcomes.models import QualityTraining
from tests.outcomes.conftest import BEST, CHEAP, EASY, HARD

pytestmark = pytest.mark.browser


def test_import_fit_and_explore_a_target(
    transactional_db, live_server, page, operator, demo_router, artifacts, tmp_path
):
    lines = ["benchmark,subset,prompt,mixtral_8x7b_correct,gpt4_1106_correct"]
    lines += [f'chat,,"{query}",{int(query in EASY)},1' for query in EASY + HARD]
    upload = tmp_path / "routellm.csv"
    upload.write_text("\n".join(lines))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "pw-olivia")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/r/support/outcomes/")
    page.set_input_files("#id_file", str(upload))
    page.select_option("#id_cheap_tier", CHEAP)
    page.select_option("#id_strong_tier", BEST)
    page.click("#upload-form button[type=submit]")
    training = QualityTraining.objects.get()
    page.wait_for_url(f"{live_server.url}/r/support/outcomes/trainings/{training.pk}/")
    assert page.locator("#training-state").inner_text() == "done"
    assert page.locator("#tier-metrics").inner_text().count(CHEAP) == 1
    page.screenshot(path=str(artifacts / "outcomes-training.png"), full_page=True)
    page.click("text=See the curve")
    page.wait_for_selector("#curve .js-plotly-plot")
    assert "Set a quality target" in page.locator("#curve").inner_text()
    page.fill("#id_target", "1.0")
    page.click("#curve button[type=submit]")
    page.wait_for_selector(f"#operating-{CHEAP}")
    assert page.locator(f"#operating-{CHEAP} .quality").inner_text() == "1.000"
    # The chart shows the predictor, random routing and the operating point.
    assert page.locator("#curve .js-plotly-plot .scatterlayer .trace").count() == 3
    page.screenshot(path=str(artifacts / "outcomes-curve.png"), full_page=True)
