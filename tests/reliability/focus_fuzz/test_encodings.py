"""Files that are not (all) UTF-8: wrong encodings, lone surrogates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.focus_fuzz.importing import check_either
from tests.reliability.focus_fuzz.independent_model import HEADER, to_csv
from tests.reliability.focus_fuzz.strategies import FUZZ, sample_rows

NON_ASCII = ["Caf\u00e9", "\u00c5rhus", "na\u00efve \u00a3"]


@FUZZ
@given(
    rows=sample_rows(max_rows=30).filter(bool),
    where=st.sampled_from(["ServiceName", "RegionId", "ChargeDescription", None]),
    value=st.sampled_from(NON_ASCII),
    encoding=st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-8-sig", "utf-8"]),
)
def test_wrong_encodings(store, tmp_path_factory, rows, where, value, encoding):
    if where:
        rows[0][where] = value
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_bytes(to_csv(HEADER, rows).encode(encoding))
    outcome = check_either(store, path, rows)

    if encoding.startswith("utf-8"):
        assert outcome == "imported"
    elif encoding.startswith("utf-16") or where in ("ServiceName", "RegionId"):
        # UTF-16 (with or without a BOM), or a latin-1 é in a column the store keeps (it
        # would be stored as mojibake): refused, saying why.
        assert outcome.startswith("failed: the file is not UTF-8 text"), outcome


@FUZZ
@given(rows=sample_rows(max_rows=30).filter(bool), data=st.data())
def test_lone_surrogates(store, tmp_path_factory, rows, data):
    """Invalid UTF-8 (a surrogate code point written with surrogatepass) in a kept column."""
    column = data.draw(st.sampled_from(["ServiceName", "SubAccountId", "Tags"]))
    row = data.draw(st.integers(0, len(rows) - 1))
    rows[row][column] = "svc\ud800x"
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_bytes(to_csv(HEADER, rows).encode("utf-8", "surrogatepass"))

    assert check_either(store, path, rows).startswith("failed: the file is not UTF-8 text")
