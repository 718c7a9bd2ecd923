"""The decision log's write path: a bounded in-memory buffer drained in bulk by a background thread.

A request only appends an unsaved DecisionLog row (no I/O); a daemon thread writes pending rows
with one bulk INSERT every FLUSH_SECONDS (sooner when BATCH_SIZE rows wait). The buffer is flushed
at interpreter exit (atexit) and from gunicorn's worker_exit hook, so a clean shutdown loses
nothing. A crash (SIGKILL, OOM, power loss) loses what was not yet written: at most the rows
appended in the last flush interval plus one in-flight batch, i.e. about
request_rate_per_worker * FLUSH_SECONDS, and never more than MAX_PENDING rows per worker.

When the buffer is full (the database is slow or down) the appending request flushes once itself
(back-pressure instead of silent loss); rows are dropped, and counted, only if that write fails too.

A row the database refuses (a NUL byte, a lone surrogate, NaN in JSON: the API refuses them, but a
row can come from elsewhere) must not stop the log: a batch that fails for any reason but the
database being unreachable is split in halves until the bad rows stand alone; those go to the
dead-letter (logged at ERROR with their decision id, counted in `dead_lettered`, the last few kept
in `dead_letters`) and every other row is written.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import is_dataclass

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from analytics.models import DecisionLog
from routing.engine.decision import plain

logger = logging.getLogger("semroute.decision_log")


def _json_ready(row: DecisionLog) -> DecisionLog:
    # Rows are queued with the engine's Trace dataclass; converting it is paid here, off the request path.
    if is_dataclass(row.trace):
        row.trace = plain(row.trace)
    return row


_COLUMNS = [field for field in DecisionLog._meta.concrete_fields]
_COPY_SQL = "COPY {table} ({columns}) FROM STDIN".format(
    table=connection.ops.quote_name(DecisionLog._meta.db_table),
    columns=", ".join(connection.ops.quote_name(field.column) for field in _COLUMNS),
)


def decision_rows_write(batch: list[DecisionLog]) -> None:
    """Insert rows in one statement: COPY on PostgreSQL (several times faster than INSERT ... UNNEST)."""
    rows = [_json_ready(row) for row in batch]
    if connection.vendor == "postgresql":
        try:
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(_COPY_SQL) as copy,
            ):
                for row in rows:
                    copy.write_row(
                        [
                            field.get_db_prep_save(getattr(row, field.attname), connection)
                            for field in _COLUMNS
                        ]
                    )
            return
        except (IntegrityError, connection.Database.IntegrityError):
            pass  # a batch retried after its commit was lost: insert only the rows not there yet
    # ignore_conflicts: a batch retried after a lost commit acknowledgement is harmless. Its own
    # atomic block: a refused row must not poison an enclosing transaction for the retry.
    with transaction.atomic():
        DecisionLog.objects.bulk_create(rows, ignore_conflicts=True)


DEAD_LETTERS_KEPT = 100


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    # The database being down or gone is worth retrying later; any other error is the rows' fault.
    driver = connection.Database
    return (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError)


class DecisionLogBuffer:
    def __init__(
        self, *, flush_seconds: float, batch_size: int, max_pending: int, autostart: bool = True
    ):
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.autostart = autostart
        self.written = 0
        self.dropped = 0
        self.dead_lettered = 0
        self.dead_letters: deque[tuple[uuid.UUID, str]] = deque(maxlen=DEAD_LETTERS_KEPT)
        # Called with each batch's written rows, off the request path (the review intake); a
        # failing hook is logged and never stops the log.
        self.written_hooks: list[Callable[[list[DecisionLog]], None]] = []
        self._reset_process_state()
        atexit.register(self.stop)

    def _reset_process_state(self) -> None:
        # A forked child (gunicorn worker) inherits the parent's rows and lock state but not its thread.
        self._pid = os.getpid()
        self._pending: OrderedDict[uuid.UUID, DecisionLog] = OrderedDict()
        self._in_flight: dict[uuid.UUID, DecisionLog] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # request path -------------------------------------------------------------------------------

    def append(self, row: DecisionLog) -> None:
        """Queue one unsaved row; never does I/O unless the buffer is full."""
        if self._pid != os.getpid():
            self._reset_process_state()
        if self.autostart and self._thread is None:
            self.start()
        with self._lock:
            full = len(self._pending) >= self.max_pending
            if not full:
                self._pending[row.id] = row
                if len(self._pending) >= self.batch_size:
                    self._wake.set()
                return
        self.flush()  # back-pressure: the database is behind
        with self._lock:
            if len(self._pending) < self.max_pending:
                self._pending[row.id] = row
                return
        self.dropped += 1
        logger.error(
            "Decision log buffer full and the database unavailable; dropped decision %s", row.id
        )

    def get(self, decision_id: uuid.UUID) -> DecisionLog | None:
        """A row of this process not yet visible in the database, if any."""
        with self._lock:
            row = self._pending.get(decision_id) or self._in_flight.get(decision_id)
        return _json_ready(row) if row is not None else None

    def discard(self) -> int:
        """Forget every pending row without writing it (tests); returns how many were dropped."""
        with self._lock:
            count = len(self._pending)
            self._pending.clear()
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._in_flight)

    # write path ---------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write every pending row now, in batches, on the calling thread's connection."""
        written = 0
        unreachable = _unreachable_errors()
        with self._flush_lock:
            while True:
                with self._lock:
                    if not self._pending:
                        break
                    batch = [
                        self._pending.popitem(last=False)[1]
                        for _ in range(min(self.batch_size, len(self._pending)))
                    ]
                    self._in_flight = {row.id: row for row in batch}
                try:
                    written += self._write_or_split(batch, unreachable)
                    self._after_write(batch)
                except unreachable:
                    logger.exception("Writing %d decision log rows failed; will retry", len(batch))
                    with self._lock:  # what was written left _in_flight; the rest waits
                        restored = OrderedDict(
                            (row.id, row) for row in batch if row.id in self._in_flight
                        )
                        restored.update(self._pending)
                        self._pending = restored
                        self._in_flight = {}
                    break
                with self._lock:
                    self._in_flight = {}
        self.written += written
        return written

    def _after_write(self, batch: list[DecisionLog]) -> None:
        refused = {decision_id for decision_id, _ in self.dead_letters}
        rows = [row for row in batch if row.id not in refused]
        for hook in self.written_hooks:
            try:
                hook(rows)
            except Exception:  # the log must go on whatever a reader of it does
                logger.exception("A decision-log hook failed on %d rows", len(rows))

    def _write_or_split(self, batch: list[DecisionLog], unreachable: tuple) -> int:
        """Write `batch`, bisecting it around rows the database refuses; returns rows written."""
        try:
            decision_rows_write(batch)
        except unreachable:
            raise
        except Exception as exc:
            if len(batch) == 1:
                self._dead_letter(batch[0], exc)
                return 0
            middle = len(batch) // 2
            return self._write_or_split(batch[:middle], unreachable) + self._write_or_split(
                batch[middle:], unreachable
            )
        with self._lock:
            for row in batch:
                self._in_flight.pop(row.id, None)
        return len(batch)

    def _dead_letter(self, row: DecisionLog, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        with self._lock:
            self._in_flight.pop(row.id, None)
            self.dead_lettered += 1
            self.dead_letters.append((row.id, reason))
        logger.error(
            "Decision %s (router %s) cannot be stored and went to the dead-letter: %s",
            row.id,
            row.router_id,
            reason,
        )

    def counts(self) -> dict[str, int]:
        """This worker's log counters (health and metrics read them)."""
        return {
            "pending": len(self),
            "written": self.written,
            "dropped": self.dropped,
            "dead_lettered": self.dead_lettered,
        }

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            close_old_connections()
            self.flush()
        connection.close()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="decision-log-flusher", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the flusher and write everything still pending (clean shutdown loses nothing)."""
        if self._pid != os.getpid():
            return
        thread = self._thread
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout)
            self._thread = None
        if self._pending:
            self.flush()


decision_log = DecisionLogBuffer(
    flush_seconds=settings.SEMROUTE_DECISION_LOG_FLUSH_SECONDS,
    batch_size=settings.SEMROUTE_DECISION_LOG_BATCH_SIZE,
    max_pending=settings.SEMROUTE_DECISION_LOG_MAX_PENDING,
)
