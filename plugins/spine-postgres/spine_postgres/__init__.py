"""spine-postgres: PostgreSQL storage for spine-host.

Psycopg 3, pooled connections, binary copy, advisory locks.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""
