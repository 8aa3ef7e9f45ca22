"""AWS faults at the network edge: what each does to the cost store, the inventory and the
utilization rollups, what gets recorded, and what the next run does.

Faults travel over real HTTP. The FaultProxy (tests/aws_faults.py) in front of the moto server
answers chosen calls with AWS errors, or holds them past botocore's read timeout; for a refused
connection the endpoint is pointed at a closed port. botocore's standard retry mode, its error
parsing and our code run unchanged. (tests/costs/test_explorer.py already covers a throttled
first page that then succeeds, DataUnavailableException, and an AccessDeniedException on page 2;
this package does not repeat them.)

Every scenario checks the same things:
1. the failed run leaves the store exactly as it was (same rows, primary keys and values);
2. the failure is recorded on the run (SyncRun, for costs) and on the account, in one line
   naming AWS's error code, without a traceback;
3. the next run, fault removed, succeeds and clears the account's error;
4. the store then equals that of a twin: the same AWS account connected by another
   organisation, whose runs never failed.
Where a fault is recovered inside the run (expired credentials, short throttling), 3 and 4
apply to that run itself.

Each test prints one "MEASURED |" line (attempts on the wire, seconds, rows before/after):
`pytest tests/reliability/aws_faults -s | grep MEASURED` gives the table in
docs/reliability.md.
"""
