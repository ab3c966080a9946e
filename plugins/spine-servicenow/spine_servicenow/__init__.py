"""spine-servicenow: ServiceNow incident channel for spine-host.

Create, update by correlation id, resolve.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""
