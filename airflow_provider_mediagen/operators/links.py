"""An extra link on generation tasks that opens the finished media."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

# Where the running operator keeps the URL until Airflow asks for the link.
_URL_ATTRIBUTE = "_mediagen_output_url"


class MediaOutputLink(BaseOperatorLink):
    """"Media output": the first output URL of the job (a signed URL that the service keeps valid for
    a limited time, a day for some services).

    Airflow 3 asks for the link once, in the task process when the try ends (``finalize``), and stores
    the answer as the XCom ``xcom_key`` that the UI reads. So the link is answered from the operator
    itself, never by reading that XCom back: a try that failed before it had a URL would otherwise log
    a spurious "XCom not found" error.
    """

    name = "Media output"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return str(getattr(operator, _URL_ATTRIBUTE, "") or "")

    @staticmethod
    def remember(operator: BaseOperator, url: str) -> None:
        """Make ``url`` the link of this try (the task process pushes it when the try ends)."""
        setattr(operator, _URL_ATTRIBUTE, url)
