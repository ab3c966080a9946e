"""spine-slack: Slack alert channel for spine-host.

Incoming webhooks and the web api, block kit, 429 handling.

This entry module imports only the standard library and spine_host; the driver is imported when
first used, so `spine --help` stays fast with the plugin installed.
"""
