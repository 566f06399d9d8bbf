"""The one error a user's file or dataset spec raises: its message names the file, line/column or member."""

from __future__ import annotations


class UploadError(ValueError):
    """An uploaded file that cannot be used, or a dataset spec that does not fit it; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
