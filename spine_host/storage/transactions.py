"""Per-thread transactions on a pooled engine: the part of the adapter that never loses work.

- outside ``transaction()``, each call checks out a connection, runs in its own transaction and
  commits before it returns;
- inside ``with adapter.transaction():`` every call on the same thread joins that transaction
  (nested blocks join the outer one); it commits when the outermost block exits and rolls back
  when it raises, leaving rows committed before the block untouched;
- ``after_rollback(callback)`` keeps a record of work whose data is rolled back (a FAIL quality
  check): the callback runs once the outermost block has rolled back, in its own transaction;
- each thread has its own connection; every exception leaving a block is a classified
  :class:`~spine_host.errors.SpineError` whose message never holds the URL's password.

:class:`TransactionScope` is a mixin of :class:`~spine_host.storage.sqlalchemy_base.
SqlAlchemyAdapter`, which provides ``engine``, ``display_url``, ``classify_error`` and ``_url``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError, classify
from spine_host.redaction import redact_url
from spine_host.storage.error_mapping import classify_sqlalchemy_error
from spine_host.storage.fencing import FencedError, guard_commit

if TYPE_CHECKING:
    from typing import Self

__all__ = ["TransactionScope"]

log = logging.getLogger(__name__)

# Driver packages whose exception messages can quote row values.
_DRIVERS = frozenset({"sqlite3", "psycopg", "psycopg2", "ibm_db", "ibm_db_dbi"})


class _ThreadTransaction(threading.local):
    """This thread's open ``transaction()`` block: its connection, health and held locks."""

    connection: sa.Connection | None = None
    #: The first exception that left a part of the block; the block can then only roll back.
    failed: BaseException | None = None
    #: ``lock()`` blocks open on this thread; their locks last as long as the transaction.
    locks: int = 0
    #: ``after_rollback`` callbacks registered since the block began or last committed.
    rollback_callbacks: list[Callable[[], object]]

    def __init__(self) -> None:
        self.rollback_callbacks = []


class TransactionScope:
    """Connection checkout, joined per-thread transactions and error classification."""

    _current: _ThreadTransaction
    _url: str
    display_url: str

    def _start_transactions(self) -> None:
        """Set up the per-thread state; the adapter's ``__init__`` calls this first."""
        self._current = _ThreadTransaction()

    @property
    def engine(self) -> sa.Engine:
        """The pooled engine (the adapter builds it on first use)."""
        raise NotImplementedError

    def classify_error(self, exc: BaseException) -> SpineError | None:
        """The dialect's mapping of its driver's exceptions; None leaves the generic rules."""
        raise NotImplementedError

    def commit(self) -> None:
        """Commit the current ``transaction()`` block's work so far; a no-op outside a block.

        The block continues in a new transaction; a later rollback keeps what was committed.
        """
        current = self._current
        connection = current.connection
        if connection is None:
            return
        if current.locks:
            raise SpineError(
                "commit() inside lock() would release the lock while the block still runs; "
                "commit after the lock() block ends",
                category=ErrorCategory.VALIDATION,
            )
        self._raise_if_failed()
        with self.errors_classified():
            with guard_commit(connection):
                connection.commit()
            self._current.rollback_callbacks = []  # their work is committed now
            connection.begin()

    def after_rollback(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` if this thread's open ``transaction()`` block rolls back.

        For a record that must outlive the data it describes (a FAIL quality check inside the
        block it failed). The callback runs after the outermost block has rolled back and given
        its connection back (so SQLite's write lock is free), inside its own ``transaction()``;
        an exception it raises is logged, not raised. A ``commit()`` inside the block drops the
        callbacks registered before it, whose work is then saved. Outside a block this does
        nothing: the work has already committed.
        """
        current = self._current
        if current.connection is not None:
            current.rollback_callbacks.append(callback)

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """A block whose statements commit together or not at all; yields the adapter.

        Calls made on this thread inside the block (including nested ``transaction()`` and
        ``lock()`` blocks) join it. Other threads use their own connections and transactions.
        """
        with self._transaction(write=True):
            yield self

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """This thread's transaction connection, for Core work the adapter methods do not cover.

        Joins the current ``transaction()`` block, or commits on exit when there is none.
        """
        with self._transaction(write=True) as connection:
            yield connection

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        """Join this thread's transaction, or run a new one that commits when the block exits."""
        current = self._current
        joined = current.connection
        if joined is not None:
            if current.failed is not None:
                # PostgreSQL would answer "25P02 current transaction is aborted"; SQLite would
                # run the statement in a block that can only roll back. Say what happened.
                earlier = self._rolled_back(current.failed).message
                raise SpineError(
                    "this transaction block already failed (the error was caught) and will roll "
                    f"back; nothing more can run in it: {earlier}",
                    category=ErrorCategory.STORAGE,
                    retryable=False,
                )
            try:
                yield joined
            except BaseException as exc:
                # Part of the block failed. Even if the caller catches this, committing the
                # rest would keep half of that part on some databases (SQLite undoes only the
                # failing statement) and nothing on others (PostgreSQL aborts the transaction):
                # the block is now rollback-only.
                if current.failed is None:
                    current.failed = exc
                raise
            return
        connection = self._checkout(write=write)
        current.connection, current.failed = connection, None
        current.rollback_callbacks = []
        try:
            yield connection
        except BaseException:
            current.connection, current.failed = None, None
            self._finish(connection, commit=False)
            self._run_rollback_callbacks()
            raise
        failed = current.failed
        current.connection, current.failed = None, None
        if failed is not None:
            self._finish(connection, commit=False)
            self._run_rollback_callbacks()
            raise self._rolled_back(failed)
        try:
            self._finish(connection, commit=True)
        except SpineError as error:
            # A failed COMMIT rolled back, unless the connection died during it: then the work
            # may be saved, and writing its records again could say it was not.
            if error.context.get("commit_outcome") != "unknown":
                self._run_rollback_callbacks()
            raise
        current.rollback_callbacks = []

    def _run_rollback_callbacks(self) -> None:
        """Run the ``after_rollback`` callbacks of the block that just rolled back."""
        callbacks, self._current.rollback_callbacks = self._current.rollback_callbacks, []
        for callback in callbacks:
            try:
                with self.transaction():
                    callback()
            except Exception:  # the rollback already happened; its error is the one to raise
                log.exception("an after_rollback callback failed: %r", callback)

    def _raise_if_failed(self) -> None:
        failed = self._current.failed
        if failed is not None:
            raise self._rolled_back(failed)

    def _rolled_back(self, failed: BaseException) -> SpineError:
        error = failed if isinstance(failed, SpineError) else self._classify(failed)
        return SpineError(
            "the transaction was rolled back, nothing in it was saved: a statement inside it "
            f"failed and the error was caught ({error.message})",
            category=error.category,
            retryable=error.retryable,
            cause=failed,
        )

    def _checkout(self, *, write: bool) -> sa.Connection:
        """A pooled connection with a transaction begun (``write`` lets SQLite begin IMMEDIATE)."""
        try:
            connection = self.engine.connect()
        except SpineError:
            raise
        except Exception as exc:
            error = self._classify(exc)
            raise SpineError(
                f"cannot connect to {self._where()}: {error.message}",
                category=error.category,
                retryable=error.retryable,
                context={**error.context, "url": self.display_url},
                cause=exc,
            ) from exc
        try:
            connection.execution_options(spine_write=write)
            connection.begin()
        except Exception as exc:
            self._release(connection)
            raise self._classify(exc) from exc
        return connection

    def _finish(self, connection: sa.Connection, *, commit: bool) -> None:
        """Commit or roll back, then return the connection to the pool, whatever happens."""
        try:
            if commit:
                try:
                    if connection.get_execution_options().get("spine_write", True):
                        with guard_commit(connection):  # fenced work: still live? (fencing.py)
                            connection.commit()
                    else:
                        connection.commit()
                except FencedError:
                    _rollback_quietly(connection)
                    raise
                except Exception as exc:
                    _rollback_quietly(connection)
                    error = self._classify(exc)
                    if getattr(exc, "connection_invalidated", False):
                        # The connection died during COMMIT: the server may have committed.
                        # Retrying could write the same rows twice, so a person must look.
                        error.retryable = False
                        error.context["commit_outcome"] = "unknown"
                        error.message = (
                            f"the connection was lost during COMMIT, so whether the work was "
                            f"saved is unknown; check before re-running: {error.message}"
                        )
                        error.args = (error.message,)
                    raise error from exc
            else:
                _rollback_quietly(connection)
        finally:
            self._release(connection)

    def _release(self, connection: sa.Connection) -> None:
        """Give a checked-out connection back (the SQLite adapter also frees its lock here)."""
        try:
            connection.close()
        except Exception:  # a dead connection: the pool discards it
            log.debug("closing a connection failed", exc_info=True)

    @contextmanager
    def errors_classified(self) -> Iterator[None]:
        """Re-raise any exception of the block as this adapter's classified SpineError."""
        try:
            yield
        except SpineError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    def _classify(self, exc: BaseException) -> SpineError:
        error = self.classify_error(exc)
        if error is None:
            error = classify_sqlalchemy_error(exc, where=self._where())
        if error is None:
            error = classify(exc)
        if error.cause is None:
            error.cause = exc
        if isinstance(exc, sa.exc.DBAPIError) or type(exc).__module__.split(".")[0] in _DRIVERS:
            error.withhold_cause_text = True
        error.message = redact_url(error.message)
        error.args = (error.message,)
        return error

    def _where(self) -> str:
        """``postgresql at host:5432/db`` for messages; never the password."""
        try:
            url = sa.make_url(self._url)
        except Exception:
            return self.display_url
        if url.host:
            port = f":{url.port}" if url.port else ""
            return f"{url.get_backend_name()} at {url.host}{port}/{url.database or ''}"
        return f"{url.get_backend_name()} {url.database or '(in memory)'}"


def _rollback_quietly(connection: sa.Connection) -> None:
    try:
        connection.rollback()
    except Exception:  # the connection died: there is nothing left to roll back
        log.debug("rollback failed", exc_info=True)
