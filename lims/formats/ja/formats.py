"""Japanese formats: 2026年12月2日, 2026年12月2日 14:05 JST (Django's own ja formats, with the zone)."""

DATE_FORMAT = "Y年n月j日"
TIME_FORMAT = "G:i T"
DATETIME_FORMAT = "Y年n月j日 G:i T"
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
SHORT_DATE_FORMAT = "Y/m/d"
SHORT_DATETIME_FORMAT = "Y/m/d G:i T"
FIRST_DAY_OF_WEEK = 0  # Sunday, as Japanese calendars print it
