"""No personal data in the logs: paths that name a person are logged without the name.

The subject routes carry a national id in their path (`/v1/subjects/{national_id}/...`).
uvicorn's access log writes every request's path; `RedactSubjectPaths`, a filter on the
`uvicorn.access` logger (installed once by `install`, from `create_app`), replaces the id
with `{national_id}` before the record is written, whatever handler or format is used.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_SUBJECT_PATH = re.compile(r"(/v1/subjects/)[^/?\s]+")


def redact_path(text: str) -> str:
    """`text` with the person named in any subject path replaced by `{national_id}`."""
    return _SUBJECT_PATH.sub(r"\1{national_id}", text)


class RedactSubjectPaths(logging.Filter):
    """Rewrites a log record's message and arguments without subject ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSubjectPaths) for f in logger.filters):
        logger.addFilter(RedactSubjectPaths())
