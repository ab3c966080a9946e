"""DDL adjustments that make every database treat spine's schema the same way.

Unique indexes: PostgreSQL and SQLite let any number of rows hold NULL in a unique column; DB2
allows one, unless the index says ``EXCLUDE NULL KEYS``. ``executions.idempotency_key`` is NULL
for every execution started without a key, so on DB2 the second such execution would fail with
SQL0803N. Compiling unique indexes over nullable columns with ``EXCLUDE NULL KEYS`` on DB2 gives
the PostgreSQL behaviour everywhere. Importing this module registers the rule; it needs neither
ibm_db nor ibm_db_sa to be installed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex

__all__: list[str] = []


@compiles(CreateIndex, "ibm_db_sa")
def _create_index_db2(create: CreateIndex, compiler: Any, **kw: Any) -> str:
    ddl: str = compiler.visit_create_index(create, **kw)
    index = create.element
    if index.unique and any(column.nullable for column in index.columns):
        ddl += " EXCLUDE NULL KEYS"
    return ddl
