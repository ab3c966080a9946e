"""spine-http: HTTP source for spine-host.

Auth, pagination, rate limits, retry-after, etags; webhook channel.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""
