"""spine-db2: IBM DB2 storage for spine-host.

Ibm_db and ibm_db_sa, merge upserts, fetch first paging.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""
