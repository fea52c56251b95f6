"""The daily report: one self-contained HTML page per trading day, and its plain-text summary.

`data` gathers the day from the database, `charts` draws SVG, `html` lays the page out,
`summary` writes the text, `writer` puts the page in the state directory and sends the text
(`daemon.report.writer`: `write_daily_report`, `publish_daily_report`, `send_report`, ...).
"""

from __future__ import annotations

# Nothing is imported here: `writer` brings the database and the notifier, which the
# backtest's page (`daemon.backtest.report`, reusing `charts` and `html`) does not need.
