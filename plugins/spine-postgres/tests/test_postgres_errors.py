"""psycopg errors provoked on a real PostgreSQL server come back in the spine taxonomy.

Every error here is raised by the server (or by libpq) for real; nothing is constructed by hand.
They are classified through ``Host.classify``, i.e. through the plugin's ``spine_classify_error``
hook, both bare and wrapped by SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy
from spine_postgres.errors import PostgresServer, classify_postgres_error

from spine_host import ErrorCategory, Host, SpineError

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    host = Host(load_entrypoints=True, storage_url="sqlite://", environ={})
    yield host
    host.close()


@pytest.fixture
def connect(postgres_url: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    opened: list[psycopg.Connection[Any]] = []

    def connect(**kwargs: Any) -> psycopg.Connection[Any]:
        connection = psycopg.connect(postgres_url, **kwargs)
        opened.append(connection)
        return connection

    admin = connect(autocommit=True)
    admin.execute(
        "DROP TABLE IF EXISTS err_child, err_parent;"
        "CREATE TABLE err_parent"
        " (id int PRIMARY KEY, qty int CHECK (qty >= 0), name text NOT NULL);"
        "CREATE TABLE err_child (id int PRIMARY KEY, parent_id int REFERENCES err_parent (id));"
        "INSERT INTO err_parent VALUES (1, 1, 'one'), (2, 2, 'two')"
    )
    yield connect
    for connection in opened:
        connection.close()


def raised_by(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any driver error, classified below
        action()
    return caught.value


@pytest.mark.parametrize(
    ("statement", "sqlstate", "constraint"),
    [
        ("INSERT INTO err_parent VALUES (1, 1, 'again')", "23505", "err_parent_pkey"),
        ("INSERT INTO err_parent VALUES (3, -1, 'negative')", "23514", "err_parent_qty_check"),
        ("INSERT INTO err_parent VALUES (3, 1, NULL)", "23502", None),
        ("INSERT INTO err_child VALUES (1, 99)", "23503", "err_child_parent_id_fkey"),
    ],
)
def test_integrity_violations_are_storage_errors_not_retryable(
    host: Host,
    connect: Callable[..., psycopg.Connection[Any]],
    statement: str,
    sqlstate: str,
    constraint: str | None,
) -> None:
    connection = connect(autocommit=True)

    error = host.classify(raised_by(lambda: connection.execute(statement)))

    assert error.category is ErrorCategory.STORAGE
    assert error.retryable is False
    assert error.context["sqlstate"] == sqlstate
    assert sqlstate in error.message
    if constraint:
        assert error.context["constraint"] == constraint


@pytest.mark.parametrize(
    ("statement", "names"),
    [
        (
            "INSERT INTO err_parent VALUES (1, 1, 'tok_live_SECRET')",
            ['unique constraint "err_parent_pkey" on (id)'],
        ),
        (
            "INSERT INTO err_parent VALUES (3, -1, 'tok_live_SECRET')",
            ['check constraint "err_parent_qty_check"'],
        ),
        ("INSERT INTO err_parent (id, name) VALUES (3, NULL)", ['column "name"']),
        (
            "INSERT INTO err_child VALUES (77001, 77002)",
            ['foreign key constraint "err_child_parent_id_fkey" on (parent_id)'],
        ),
        ("SELECT 'tok_live_SECRET'::uuid", ["invalid input syntax for type uuid"]),
    ],
)
def test_messages_name_constraints_and_columns_but_never_row_values(
    host: Host, connect: Callable[..., psycopg.Connection[Any]], statement: str, names: list[str]
) -> None:
    connection = connect(autocommit=True)

    error = host.classify(raised_by(lambda: connection.execute(statement)))

    for name in names:
        assert name in error.message
    shown = f"{error.message} {error.context}"
    assert "tok_live_SECRET" not in shown
    assert "77001" not in shown
    assert "77002" not in shown
    assert "Failing row" not in shown


def test_a_unique_key_on_an_expression_names_the_expression_not_the_value(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    connection = connect(autocommit=True)
    connection.execute(
        "CREATE TEMP TABLE err_users (email text); "
        "CREATE UNIQUE INDEX err_users_email ON err_users (lower(email)); "
        "INSERT INTO err_users VALUES ('Ada@example.org')"
    )

    error = host.classify(
        raised_by(lambda: connection.execute("INSERT INTO err_users VALUES ('ada@EXAMPLE.org')"))
    )

    assert 'unique constraint "err_users_email" on (lower(email))' in error.message
    assert "example.org" not in error.message.lower()


def test_a_bad_value_inside_copy_names_its_table_row_and_column_but_not_the_value(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    connection = connect(autocommit=True)

    def copy() -> None:
        with connection.cursor().copy("COPY err_parent (id, qty, name) FROM STDIN") as stream:
            stream.write("3\t3\tthree\n4\ttok_live_SECRET\tfour\n")

    error = host.classify(raised_by(copy))

    assert error.category is ErrorCategory.VALIDATION
    assert "(bulk insert into err_parent: row 2, column qty)" in error.message
    assert error.context["column"] == "qty"
    assert error.context["row"] == 2
    # The server's CONTEXT line ends with the value; only what comes before it is read.
    assert "tok_live_SECRET" not in f"{error.message} {error.context}"


def test_the_adapter_keeps_bound_values_out_of_the_error_and_its_cause(postgres_url: str) -> None:
    from spine_postgres.adapter import PostgresAdapter

    adapter = PostgresAdapter(postgres_url, pool_size=1, max_overflow=0)
    try:
        adapter.execute("CREATE TABLE err_tokens (api_token text PRIMARY KEY)")
        adapter.execute("INSERT INTO err_tokens VALUES (:t)", {"t": "tok_live_SECRET"})
        with pytest.raises(SpineError) as raised:
            adapter.execute("INSERT INTO err_tokens VALUES (:t)", {"t": "tok_live_SECRET"})
    finally:
        adapter.execute("DROP TABLE IF EXISTS err_tokens")
        adapter.close()

    assert 'unique constraint "err_tokens_pkey" on (api_token)' in raised.value.message
    assert "tok_live_SECRET" not in raised.value.message
    assert "tok_live_SECRET" not in str(raised.value.context)
    # The cause (kept for the traceback) shows the statement without its bound values.
    assert "[parameters: {'t'" not in str(raised.value.cause)


def test_integrity_violation_wrapped_by_sqlalchemy_is_classified(
    host: Host, postgres_url: str, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    engine = sqlalchemy.create_engine(
        postgres_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with engine.begin() as connection:
            wrapped = raised_by(
                lambda: connection.execute(
                    sqlalchemy.text("INSERT INTO err_parent VALUES (1, 1, 'again')")
                )
            )
    finally:
        engine.dispose()

    assert isinstance(wrapped, sqlalchemy.exc.IntegrityError)
    error = host.classify(wrapped)
    assert error.category is ErrorCategory.STORAGE
    assert error.retryable is False
    assert "duplicate key" in error.message
    assert "[SQL:" not in error.message


def test_undefined_column_says_to_run_db_upgrade(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    connection = connect(autocommit=True)

    error = host.classify(raised_by(lambda: connection.execute("SELECT no_such_column")))

    assert error.context["sqlstate"] == "42703"
    assert "spine db upgrade" in error.message


def test_undefined_table_says_to_run_db_upgrade(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    connection = connect(autocommit=True)

    error = host.classify(raised_by(lambda: connection.execute("SELECT * FROM no_such_table")))

    assert error.category is ErrorCategory.STORAGE
    assert error.context["sqlstate"] == "42P01"
    assert "spine db upgrade" in error.message


def test_serialization_failure_is_transient(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    first = connect()
    second = connect(autocommit=True)
    first.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    first.execute("SELECT qty FROM err_parent WHERE id = 1")  # takes the snapshot
    second.execute("UPDATE err_parent SET qty = qty + 1 WHERE id = 1")

    failure = raised_by(lambda: first.execute("UPDATE err_parent SET qty = 0 WHERE id = 1"))

    error = host.classify(failure)
    assert error.context["sqlstate"] == "40001"
    assert error.category is ErrorCategory.TRANSIENT
    assert error.retryable is True


def test_deadlock_is_transient(host: Host, connect: Callable[..., psycopg.Connection[Any]]) -> None:
    first, second = connect(), connect()
    for connection in (first, second):
        connection.execute("SET deadlock_timeout = '50ms'")
    first.execute("UPDATE err_parent SET qty = 10 WHERE id = 1")
    second.execute("UPDATE err_parent SET qty = 20 WHERE id = 2")
    failures: list[BaseException] = []

    def cross_update(connection: psycopg.Connection[Any], row: int) -> None:
        try:
            connection.execute("UPDATE err_parent SET qty = 30 WHERE id = %s", (row,))
        except psycopg.Error as exc:
            failures.append(exc)
        finally:
            connection.rollback()

    thread = threading.Thread(target=cross_update, args=(first, 2))
    thread.start()
    cross_update(second, 1)
    thread.join(timeout=10)

    assert len(failures) == 1, failures
    error = host.classify(failures[0])
    assert error.context["sqlstate"] == "40P01"
    assert error.category is ErrorCategory.TRANSIENT


def test_terminated_backend_is_transient(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    victim, admin = connect(), connect(autocommit=True)
    victim.execute("SELECT 1")
    admin.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))

    error = host.classify(raised_by(lambda: victim.execute("SELECT 1")))

    assert error.category is ErrorCategory.TRANSIENT
    assert error.retryable is True


def test_statement_timeout_is_a_timeout(
    host: Host, connect: Callable[..., psycopg.Connection[Any]]
) -> None:
    connection = connect(autocommit=True)
    connection.execute("SET statement_timeout = '50ms'")

    error = host.classify(raised_by(lambda: connection.execute("SELECT pg_sleep(2)")))

    assert error.context["sqlstate"] == "57014"
    assert error.category is ErrorCategory.TIMEOUT


def test_unknown_role_is_an_auth_error(host: Host, postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "no_such_role:hunter22@")

    error = host.classify(raised_by(lambda: psycopg.connect(url, connect_timeout=5)))

    assert error.category is ErrorCategory.AUTH
    assert "hunter22" not in error.message


def test_missing_database_is_a_configuration_error(host: Host, postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"

    error = host.classify(raised_by(lambda: psycopg.connect(url, connect_timeout=5)))

    assert error.category is ErrorCategory.CONFIG
    assert "no_such_database" in error.message


def test_refused_connection_names_the_server_without_the_password() -> None:
    url = "postgresql://spine:s3cret-pw@127.0.0.1:1/spine"
    failure = raised_by(lambda: psycopg.connect(url, connect_timeout=5))

    error = classify_postgres_error(failure, server=PostgresServer.from_url(url))

    assert isinstance(error, SpineError)
    assert error.category is ErrorCategory.TRANSIENT
    assert "127.0.0.1:1" in error.message
    assert "s3cret-pw" not in error.message
    assert (error.context["host"], error.context["port"]) == ("127.0.0.1", 1)


def test_errors_from_other_libraries_are_left_to_others(host: Host) -> None:
    assert classify_postgres_error(ValueError("not mine")) is None
    assert host.classify(KeyError("x")).category is ErrorCategory.INTERNAL
