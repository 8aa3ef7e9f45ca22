"""Fixtures of the Athena import tests (test_athena.py, test_athena_sql.py)."""

import boto3
import pytest
from botocore.stub import Stubber

from accounts import aws as aws_sessions

RESULTS_BUCKET = "spendlens-athena-results"


@pytest.fixture
def stubs(aws):
    """Glue and Athena clients of the platform session, answered by Stubbers."""
    glue = aws_sessions.platform_client("glue")
    athena = aws_sessions.platform_client("athena")
    with Stubber(glue) as glue_stub, Stubber(athena) as athena_stub:
        yield glue, glue_stub, athena, athena_stub
        glue_stub.assert_no_pending_responses()
        athena_stub.assert_no_pending_responses()


@pytest.fixture
def results(aws):
    """The bucket Athena writes query results to, in the moto server."""
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1")
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    return s3
