"""The daily report: one self-contained HTML page per trading day, and its plain-text summary.

`data` gathers the day from the database, `charts` draws SVG, `html` lays the page out,
`summary` writes the text, `writer` puts the page in the state directory and sends the text.
"""

from __future__ import annotations

__all__ = [
    "ReportWritten",
    "publish_daily_report",
    "report_message",
    "report_path",
    "send_report",
    "write_daily_report",
]

from daemon.report.writer import (
    ReportWritten,
    publish_daily_report,
    report_message,
    report_path,
    send_report,
    write_daily_report,
)
