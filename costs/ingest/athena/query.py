"""One Athena query from start to result location: start, poll until done or the deadline,
stop it past the deadline. What it scanned is kept even when it fails (Athena bills that)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from costs.ingest.focus.errors import ImportFailed

from .catalog import aws_error

CATALOG = "AwsDataCatalog"
# Polling starts fast (small queries finish in a second or two) and backs off to a few
# seconds; GetQueryExecution is not billed but is throttled per account.
FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 5.0
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class Execution:
    """What is known of the query so far; the importer records it whatever happens."""

    id: str = ""
    state: str = ""
    reason: str = ""
    bytes_scanned: int | None = None
    output_location: str = ""

    def update(self, answer: dict) -> None:
        execution = answer["QueryExecution"]
        status = execution.get("Status", {})
        self.state = status.get("State", "")
        self.reason = status.get("StateChangeReason", "") or status.get("AthenaError", {}).get(
            "ErrorMessage", ""
        )
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
        if scanned is not None:
            self.bytes_scanned = scanned
        location = execution.get("ResultConfiguration", {}).get("OutputLocation")
        if location:
            self.output_location = location


def run(
    athena,
    sql: str,
    workgroup: str,
    database: str,
    execution: Execution,
    timeout: float,
    token: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Run SQL in WORKGROUP and wait for it; EXECUTION is filled in as it goes.

    TOKEN (32-128 characters) makes the start idempotent: botocore's retries of
    StartQueryExecution cannot start a second, billed, query. Raises ImportFailed when the
    query fails, is cancelled (a workgroup's bytes-scanned cutoff cancels it) or outlives
    TIMEOUT seconds (then it is stopped, so that it stops scanning).
    """
    deadline = clock() + timeout
    try:
        started = athena.start_query_execution(
            QueryString=sql,
            ClientRequestToken=token,
            QueryExecutionContext={"Database": database, "Catalog": CATALOG},
            WorkGroup=workgroup,
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(f"start the Athena query in the workgroup {workgroup}", exc) from exc
    execution.id = started["QueryExecutionId"]
    pause = FIRST_POLL_SECONDS
    while True:
        try:
            execution.update(athena.get_query_execution(QueryExecutionId=execution.id))
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(f"follow the Athena query {execution.id}", exc) from exc
        if execution.state in FINISHED:
            break
        if clock() >= deadline:
            _stop(athena, execution)
            raise ImportFailed(
                f"the Athena query {execution.id} did not finish within {timeout:g} s "
                "(ATHENA_QUERY_TIMEOUT_SECONDS) and was stopped; nothing was replaced"
            )
        sleep(min(pause, max(deadline - clock(), 0)))
        pause = min(pause * 1.5, MAX_POLL_SECONDS)
    if execution.state == "FAILED":
        raise ImportFailed(
            f"the Athena query {execution.id} failed: {execution.reason or 'no reason given'}; "
            "nothing was replaced"
        )
    if execution.state == "CANCELLED":
        raise ImportFailed(
            f"the Athena query {execution.id} was cancelled"
            f"{': ' + execution.reason if execution.reason else ''} (a workgroup's "
            "bytes-scanned limit cancels queries that exceed it); nothing was replaced"
        )
    if not execution.output_location.startswith("s3://"):
        raise ImportFailed(f"the Athena query {execution.id} succeeded without a result location")
    return execution


def _stop(athena, execution: Execution) -> None:
    try:
        athena.stop_query_execution(QueryExecutionId=execution.id)
    except (ClientError, BotoCoreError) as exc:
        raise ImportFailed(
            f"the Athena query {execution.id} outlived ATHENA_QUERY_TIMEOUT_SECONDS and could "
            f"not be stopped ({aws_error('stop it', exc).message}); stop it in the console"
        ) from exc
