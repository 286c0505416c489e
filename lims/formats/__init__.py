"""Date and time formats per language (FORMAT_MODULE_PATH): Japanese dates as 2026年12月2日, times with their zone.

Templates name a format (``{{ at|date:"DATETIME_FORMAT" }}``, ``SHORT_DATETIME_FORMAT``,
``DATE_FORMAT``) rather than spelling one, so each language reads its own.
"""
