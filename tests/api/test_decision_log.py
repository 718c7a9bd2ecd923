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


# A poison row must never stop the log --------------------------------------------------------

# kind -> (row fields, refused by SQLite too): PostgreSQL refuses every one of them.
POISON = {
    "NUL in the query": ({"query": "refund\x00please"}, False),
    "lone surrogate in the query": ({"query": "refund \udc00"}, True),
    "lone surrogate in metadata": ({"metadata": {"note": "\udc00"}}, False),
    "NaN in metadata": ({"metadata": {"score": float("nan")}}, False),
    "NUL in user_id": ({"user_ref": "u\x00"}, False),
    "NUL in session_id": ({"session_ref": "s\x00"}, False),
}


def _poison_row(router, **fields):
    from django.utils import timezone

    row = DecisionLog(
        router_id=router.pk,
        router_version=router.version,
        query="poison",
        confidence=0.5,
        stage="embedding",
        complexity="simple",
        latency_ms=1.0,
        created_at=timezone.now(),
    )
    for name, value in fields.items():
        setattr(row, name, value)
    return row


def _refused_by_this_database(kind: str) -> bool:
    from django.db import connection

    return connection.vendor == "postgresql" or POISON[kind][1]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(POISON))
def test_one_poison_row_among_twenty_good_ones_writes_the_twenty(demo_router, kind):
    buffer = _buffer(batch_size=50, max_pending=100)
    good = _rows(buffer, demo_router, 10)
    poison = _poison_row(demo_router, **POISON[kind][0])
    buffer.append(poison)  # straight into the buffer: the API would have refused it
    good += _rows(buffer, demo_router, 10)
    refused = _refused_by_this_database(kind)
    assert buffer.flush() == (20 if refused else 21)
    assert DecisionLog.objects.filter(pk__in=good).count() == 20
    assert len(buffer) == 0
    if refused:
        assert not DecisionLog.objects.filter(pk=poison.pk).exists()
        assert buffer.dead_lettered == 1
        assert buffer.dead_letters[0][0] == poison.id
        later = _rows(buffer, demo_router, 3)  # and the log goes on
        assert buffer.flush() == 3
        assert DecisionLog.objects.filter(pk__in=later).count() == 3


@pytest.mark.django_db
def test_a_dead_lettered_row_is_logged_at_error_with_its_id(demo_router, caplog):
    buffer = _buffer()
    poison = _poison_row(demo_router, query="\udc00")
    buffer.append(poison)
    with caplog.at_level("ERROR", logger="semroute.decision_log"):
        buffer.flush()
    assert buffer.counts()["dead_lettered"] == 1
    assert any(
        record.levelname == "ERROR" and str(poison.id) in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.django_db(transaction=True)
def test_a_clean_stop_writes_the_good_rows_around_poison(demo_document):
    from routing.services.config_apply import router_config_apply

    router = router_config_apply(document=demo_document).router
    buffer = _buffer(autostart=True, flush_seconds=60, batch_size=1000, max_pending=1000)
    good = _rows(buffer, router, 10)
    buffer.append(_poison_row(router, query="\udc00"))
    buffer.append(_poison_row(router, query="a\x00b\ud800"))
    good += _rows(buffer, router, 10)
    buffer.stop()
    assert DecisionLog.objects.filter(pk__in=good).count() == 20
    assert buffer.dead_lettered == 2
    assert len(buffer) == 0


@pytest.mark.django_db(transaction=True)
def test_rows_wait_for_an_unreachable_database_instead_of_being_dead_lettered(demo_document):
    from django.db import connection

    from routing.services.config_apply import router_config_apply

    if connection.vendor != "postgresql":
        pytest.skip("an in-memory SQLite database cannot be made unreachable")
    router = router_config_apply(document=demo_document).router
    buffer = _buffer(batch_size=50, max_pending=100)
    ids = _rows(buffer, router, 5)
    real = connection.settings_dict.copy()
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})  # nothing listens there
    try:
        assert buffer.flush() == 0
    finally:
        connection.close()
        connection.settings_dict.update(real)
    assert buffer.dead_lettered == 0 and len(buffer) == 5
    assert buffer.flush() == 5
    assert DecisionLog.objects.filter(pk__in=ids).count() == 5


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_router_deleted_while_buffered_do_not_block_the_others(demo_document):
    from routing.services.config_apply import router_config_apply

    kept = router_config_apply(document=demo_document).router
    gone = router_config_apply(document={**demo_document, "slug": "gone"}).router
    buffer = _buffer(batch_size=50, max_pending=100)
    good = _rows(buffer, kept, 5)
    orphans = _rows(buffer, gone, 2)
    good += _rows(buffer, kept, 5)
    gone.delete()  # its rows' foreign key now points nowhere
    assert buffer.flush() == 10
    assert DecisionLog.objects.filter(pk__in=good).count() == 10
    assert buffer.dead_lettered == 2
    assert {decision_id for decision_id, _ in buffer.dead_letters} == set(orphans)
