"""The decision log buffer: nothing written on the request path, nothing lost on a clean stop."""

import time

import pytest

from analytics.decision_log import DecisionLogBuffer, decision_rows_write
from analytics.models import DecisionLog
from analytics.services import decision_record
from routing.decide import decide

_made: list[DecisionLogBuffer] = []


def _buffer(**options) -> DecisionLogBuffer:
    buffer = DecisionLogBuffer(
        **{"flush_seconds": 0.05, "batch_size": 3, "max_pending": 5, "autostart": False, **options}
    )
    _made.append(buffer)
    return buffer


@pytest.fixture(autouse=True)
def _discard_buffers():
    yield
    while _made:  # their atexit flush must not run after the test database is gone
        _made.pop().discard()


def _rows(buffer, router, count):
    import analytics.services as services

    decision = decide(router=router, query="where is my order")
    original = services.decision_log
    services.decision_log = buffer
    try:
        return [
            decision_record(router=router, query=f"q{i}", decision=decision, principal=None)
            for i in range(count)
        ]
    finally:
        services.decision_log = original


@pytest.mark.django_db
def test_rows_wait_in_the_buffer_until_flushed_in_batches(demo_router):
    buffer = _buffer()
    ids = _rows(buffer, demo_router, 4)
    assert DecisionLog.objects.count() == 0
    assert buffer.get(ids[0]).query == "q0"
    assert buffer.flush() == 4
    assert buffer.get(ids[0]) is None
    assert set(DecisionLog.objects.values_list("id", flat=True)) == set(ids)
    assert isinstance(DecisionLog.objects.get(pk=ids[0]).trace, dict)


@pytest.mark.django_db
def test_a_full_buffer_flushes_on_the_request_thread_instead_of_dropping(demo_router):
    buffer = _buffer()
    _rows(buffer, demo_router, 7)  # max_pending is 5
    assert buffer.dropped == 0
    assert DecisionLog.objects.count() >= 5
    buffer.flush()
    assert DecisionLog.objects.count() == 7


@pytest.mark.django_db
def test_writing_a_batch_twice_is_harmless(demo_router):
    buffer = _buffer()
    ids = _rows(buffer, demo_router, 3)
    batch = [buffer.get(decision_id) for decision_id in ids]
    decision_rows_write(batch)
    decision_rows_write(batch)
    assert DecisionLog.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_background_flusher_writes_within_its_interval_and_stop_flushes_the_rest(demo_document):
    from routing.services.config_apply import router_config_apply

    router = router_config_apply(document=demo_document).router
    buffer = _buffer(autostart=True, max_pending=1000, batch_size=1000)
    ids = _rows(buffer, router, 10)
    deadline = time.monotonic() + 5
    while DecisionLog.objects.count() < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert DecisionLog.objects.count() == 10
    buffer.flush_seconds = 60  # the next rows stay pending until stop()
    time.sleep(0.1)
    more = _rows(buffer, router, 5)
    buffer.stop()
    assert DecisionLog.objects.filter(pk__in=ids + more).count() == 15
