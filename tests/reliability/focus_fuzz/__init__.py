"""The FOCUS importer fed bad input: files derived from the real sample, mutated by hypothesis.

Mutations: malformed, overlong and out-of-range numbers; bad and odd dates; unicode (RTL
marks, emoji, NULs, combining marks) and overlong text in every column the store keeps; wrong
currencies; missing required columns; wrong encodings (latin-1, UTF-16, UTF-8 with a BOM, lone
surrogates); truncated files; CRLF line ends; 1 MB cells.

Properties, for every file:
1. `import_billing` raises nothing but ImportFailed (the command turns it into a CommandError);
2. no partial import: either it succeeds and the store is exactly what an independent model
   predicts (the periods the file covers replaced by its accepted rows, rejects counted per
   reason), or it fails and the store is exactly as before (same rows, same primary keys), with
   the failure and a one-line reason on the BillingImport;
3. stored amounts equal a computation over the accepted rows made here with the csv module,
   Python's re and Decimal, never with the importer's code.

Each property runs against a store that already holds the whole sample; every example runs in
a savepoint that is rolled back, so each starts from that same store.

Database limits the model allows for: on SQLite amounts are floats (compared to 1e-14, and
amounts from 99999999999999.95 up cannot even be read back, so such examples are skipped
there); on PostgreSQL a day's rollup over 10^14 may fail the import (cleanly). A file cut
inside a UTF-8 character may fail as a whole (pyarrow cannot even report the broken row).

Runs in about 15 s. `--hypothesis-show-statistics` lists what the examples covered (outcomes
and reject reasons). No example database is kept (database=None): a failure prints its
example, and the explicit @examples pin the bugs found so far.
"""
