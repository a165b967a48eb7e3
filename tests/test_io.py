"""``logitlab.read_table`` and ``handle_missing`` (src/logitlab/io.py).

References: tables are compared with the same data built directly in pandas
(and, for files, read back by pandas / pyarrow themselves); error messages
are checked word for word; missing-value counts against counts computed
here from the positions where NaN was put.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logitlab import read_table
from logitlab.data.io import handle_missing, missing_counts

DATA = Path(__file__).parent / "data"


def frame():
    return pd.DataFrame({"y": [0, 1, 1, 0], "x": [0.5, -1.25, 3.0, 1e-300],
                         "g": ["a", "b", "a", "c"]})


# ------------------------------------------------------------------ sources
def test_pandas_frame_is_returned_as_is():
    df = frame()
    assert read_table(df) is df


def test_polars_pyarrow_and_dict_give_the_same_frame():
    df = frame()
    expected = df.copy()
    for source in (pl.from_pandas(df), pa.Table.from_pandas(df, preserve_index=False),
                   {"y": df["y"].to_numpy(), "x": df["x"].tolist(), "g": list(df["g"])}):
        got = read_table(source)
        assert isinstance(got, pd.DataFrame)
        assert list(got.columns) == ["y", "x", "g"]
        np.testing.assert_array_equal(got["y"].to_numpy(), expected["y"].to_numpy())
        np.testing.assert_array_equal(got["x"].to_numpy(), expected["x"].to_numpy())
        assert got["g"].tolist() == expected["g"].tolist()


def test_dict_of_series_aligns_by_position_not_index():
    got = read_table({"a": pd.Series([1, 2, 3], index=[10, 11, 12]), "b": [4, 5, 6]})
    assert got["a"].tolist() == [1, 2, 3] and got["b"].tolist() == [4, 5, 6]


@pytest.mark.parametrize("name, sep, compress", [
    ("t.csv", ",", False), ("t.tsv", "\t", False), ("t.csv.gz", ",", True),
    ("T.TSV.GZ", "\t", True)])
def test_csv_and_tsv_files(tmp_path, name, sep, compress):
    df = frame()
    text = df.to_csv(index=False, sep=sep).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if compress else text)
    got = read_table(path)
    pd.testing.assert_frame_equal(got, pd.read_csv(path, sep=sep, compression="gzip" if compress
                                                   else None))
    np.testing.assert_array_equal(got["x"].to_numpy(), df["x"].to_numpy())  # exact floats
    assert got["g"].tolist() == ["a", "b", "a", "c"]
    assert read_table(str(path), columns=["g", "y"]).columns.tolist() == ["g", "y"]


@pytest.mark.parametrize("name", ["t.parquet", "t.pq"])
def test_parquet_files(tmp_path, name):
    df = frame()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / name)
    got = read_table(tmp_path / name)
    np.testing.assert_array_equal(got["x"].to_numpy(), df["x"].to_numpy())
    assert got["y"].tolist() == df["y"].tolist() and got["g"].tolist() == df["g"].tolist()
    assert read_table(tmp_path / name, columns=["x"]).columns.tolist() == ["x"]


def test_bundled_birthwt_matches_pandas():
    pd.testing.assert_frame_equal(read_table(DATA / "birthwt.csv"),
                                  pd.read_csv(DATA / "birthwt.csv"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False, width=64),
                          st.integers(-10**6, 10**6),
                          st.sampled_from(["a", "b", "c d", "é"])), min_size=1, max_size=30))
def test_file_round_trip_property(tmp_path, rows):
    df = pd.DataFrame(rows, columns=["f", "i", "s"])
    df.to_csv(tmp_path / "p.csv", index=False)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "p.parquet")
    for name in ("p.csv", "p.parquet"):
        got = read_table(tmp_path / name)
        np.testing.assert_array_equal(got["f"].to_numpy(), df["f"].to_numpy())
        assert got["i"].tolist() == df["i"].tolist() and got["s"].tolist() == df["s"].tolist()


# ------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError) as err:
        read_table(path)
    assert str(err.value) == f"cannot read {str(path)!r}: no such file."


@pytest.mark.parametrize("name, shown", [("data.xlsx", "unknown file type '.xlsx'"),
                                         ("data.json.gz", "unknown file type '.json.gz'"),
                                         ("data", "no file extension")])
def test_unknown_extension_lists_the_supported_ones(tmp_path, name, shown):
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert str(err.value) == (f"cannot read {str(path)!r}: {shown}; supported file types are "
                              ".csv, .tsv, .csv.gz, .tsv.gz, .parquet, .pq.")


@pytest.mark.parametrize("name, content, message", [
    ("e.csv", b"", "the file is empty."),
    ("e.csv", b"\n\n  \n", "the file is empty."),
    ("e.parquet", b"", "the file is empty."),
    ("h.csv", b"a,b\n", "the file has a header but no data rows."),
    ("bad.csv", b"a,b\n1,2\n3,4,5\n", "as CSV: Expected 2 fields in line 3, saw 3."),
    ("q.csv", b'a,b\n"1,2\n', "as CSV: EOF inside string starting at row 1."),
    ("u.csv", b"a,b\n\xff\xfe,1\n", "as CSV: it is not UTF-8 text (it contains the byte 0xff)."),
    ("z.csv.gz", b"a,b\n1,2\n", "as CSV (gzip-compressed): Not a gzipped file (b'a,')."),
    ("x.parquet", b"a,b\n1,2\n", "as Parquet: Parquet magic bytes not found in footer."),
])
def test_unreadable_files_say_why_in_one_sentence(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        read_table(path)
    sep = " " if message.startswith("as ") else ": "
    assert str(err.value) == f"cannot read {str(path)!r}{sep}{message}"
    # no parser traceback chained to the message
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__


def test_header_only_parquet_is_empty(tmp_path):
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    with pytest.raises(ValueError, match=re.escape("the file has a header but no data rows.")):
        read_table(path)


def test_directory_and_unreadable(tmp_path):
    folder = tmp_path / "d.csv"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as err:
        read_table(folder)
    assert str(err.value) == f"cannot read {str(folder)!r}: it is a directory, not a file."
    locked = tmp_path / "locked.csv"
    locked.write_text("a\n1\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):   # running as root: permissions do not apply
            assert read_table(locked)["a"].tolist() == [1]
        else:
            with pytest.raises(PermissionError) as err:
                read_table(locked)
            assert str(err.value) == f"cannot read {str(locked)!r}: permission denied."
    finally:
        locked.chmod(0o600)


def test_bad_sources_and_columns(tmp_path):
    with pytest.raises(TypeError) as err:
        read_table([1, 2, 3])
    assert str(err.value) == ("read_table needs a path to a CSV/TSV/Parquet file, a pandas or "
                              "polars DataFrame, a pyarrow Table or a dict of columns; got "
                              "builtins.list.")
    with pytest.raises(ValueError) as err:
        read_table({"a": [1, 2], "b": [1, 2, 3]})
    assert str(err.value) == ("the columns of the dict have different lengths (a: 2, b: 3); "
                              "every column needs one value per row.")
    with pytest.raises(ValueError) as err:
        read_table({"a": np.ones((2, 2))})
    assert "column 'a' of the dict is not one-dimensional" in str(err.value)
    path = tmp_path / "t.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(ValueError) as err:
        read_table(path, columns=["x", "zz", "w"])
    assert str(err.value) == (f"{str(path)!r} has no column 'zz', 'w'; its columns are "
                              "'y', 'x', 'g'.")


# ----------------------------------------------------------- missing values
def holey():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(size=50), "race": rng.integers(1, 4, 50).astype(float),
                       "name": rng.choice(["a", "b"], 50).astype(object), "ok": np.ones(50)})
    df.loc[[7, 3, 40], "age"] = np.nan
    df.loc[[12], "race"] = np.nan
    df.loc[[3, 49], "name"] = None
    return df


def test_missing_raise_names_columns_counts_and_first_rows():
    with pytest.raises(ValueError) as err:
        handle_missing(holey(), ["ok", "age", "race", "name"], "raise")
    # rows with a missing value: {3, 7, 40} | {12} | {3, 49} = 5 rows
    assert str(err.value) == (
        "missing values in 5 of 50 rows, in 3 columns: 'age': 3 rows (first row 3), "
        "'race': 1 row (first row 12), 'name': 2 rows (first row 3). Drop those rows "
        "(missing='drop') or fill them in first.")


def test_missing_drop_returns_complete_rows_and_count():
    df = holey()
    out, n = handle_missing(df, ["age", "race"], "drop")
    expected = df.dropna(subset=["age", "race"])
    assert n == 4 and len(out) == 46
    pd.testing.assert_frame_equal(out, expected)
    out, n = handle_missing(df, ["ok"], "drop")       # nothing missing: same object
    assert n == 0 and out is df
    assert missing_counts(df, ["name", "ok"]) == [("name", 2, 3)]


def test_missing_option_and_unknown_columns():
    with pytest.raises(ValueError, match=re.escape("missing must be 'raise' or 'drop'; got 'omit'.")):
        handle_missing(holey(), None, "omit")
    with pytest.raises(ValueError) as err:
        handle_missing(holey(), ["agee"], "drop")
    assert str(err.value) == ("the data have no column 'agee'; its columns are 'age', 'race', "
                              "'name', 'ok'.")


def test_csv_missing_markers_are_the_empty_field_and_NA(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,x\n,NA\nnull,y\n4,\n")
    df = read_table(path)
    # 'null' is a value (as in R's read.csv), so 'a' is text with one missing row
    assert missing_counts(df, ["a", "b"]) == [("a", 1, 1), ("b", 2, 1)]
    assert df["a"].tolist()[2] == "null"


def test_missing_values_as_R_read_csv_reads_them():
    """Against R 4.2.2's read.csv (tests/r/read_csv_missing.R): the same rows
    are missing, the same numbers are read, 'None' is a factor level; only an
    empty field in a text column differs (R: the text "", logitlab: missing)."""
    ref = json.loads((DATA / "missing_markers_R.json").read_text())["columns"]
    df = read_table(DATA / "missing_markers.csv")
    assert list(df.columns) == [c["name"] for c in ref]
    for col in ref:
        got = pd.isna(df[col["name"]]).tolist()
        if col["class"] == "character":
            blank = [v == "" for v in col["values"]]
            assert got == [na or b for na, b in zip(col["is_na"], blank)], col["name"]
            kept = [v for v, na, b in zip(col["values"], col["is_na"], blank) if not (na or b)]
            assert df[col["name"]].dropna().tolist() == kept
        else:
            assert got == col["is_na"], col["name"]
            assert df[col["name"]].dtype.kind in "if"
            values = df[col["name"]].to_numpy(dtype=float)
            expected = np.array([np.nan if v is None else float(v) for v in col["values"]])
            np.testing.assert_array_equal(values, expected)   # exact, inf included
    assert df["lvl"].tolist().count("None") == 3


def test_na_values_replace_the_markers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("x,g\n1,None\n2,a\n,None\nNA,b\n")
    df = read_table(path, na_values=["None", "NA", ""])
    assert missing_counts(df, ["x", "g"]) == [("x", 2, 2), ("g", 2, 0)]
    df = read_table(path, na_values="None")          # only 'None': '' and 'NA' are texts
    assert df["x"].tolist() == ["1", "2", "", "NA"] and missing_counts(df, ["x"]) == []
    assert read_table(path, na_values=[])["g"].tolist() == ["None", "a", "None", "b"]
    with pytest.raises(TypeError, match="na_values must be a text or a list of texts"):
        read_table(path, na_values=[1, 2])
    frame_ = read_table(path)
    with pytest.raises(ValueError, match="apply when the data are a CSV / TSV file"):
        read_table(frame_, na_values=["NA"])
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "p.parquet")
    with pytest.raises(ValueError, match="na_values: they apply to CSV / TSV files"):
        read_table(tmp_path / "p.parquet", na_values=["NA"])


def test_missing_texts_name_what_the_file_holds(tmp_path):
    from logitlab.io import missing_texts
    path = tmp_path / "m.csv"
    path.write_text("x,g\n1,NA\n,a\nNA,NA\n4,\n5,b\n")
    df = read_table(path)
    assert missing_texts(df, ["x", "g"]) == {"x": {"": 1, "NA": 1}, "g": {"NA": 2, "": 1}}
    changed = df.copy()
    changed.loc[0, "x"] = np.nan         # no longer what the file says: no texts
    assert missing_texts(changed, ["x"]) == {}
    assert missing_texts(frame(), ["x"]) == {}


def test_nan_spellings_in_a_numeric_column_are_numbers(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("x,t\n1.25,a\nNaN,NaN\nnan,b\n-Inf,c\n1e-310,d\n")
    df = read_table(path)
    np.testing.assert_array_equal(df["x"].to_numpy(), [1.25, np.nan, np.nan, -np.inf, 1e-310])
    assert df["t"].tolist() == ["a", "NaN", "b", "c", "d"]    # a text column keeps its texts


def test_sep_option_and_the_delimiter_hint(tmp_path):
    df = frame()
    path = tmp_path / "semi.csv"
    df.to_csv(path, sep=";", index=False)
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert str(err.value) == (f"cannot read {str(path)!r} as CSV: it reads as one column named "
                              "'y;x;g', and the header contains ';': try sep=';'.")
    pd.testing.assert_frame_equal(read_table(path, sep=";"), pd.read_csv(path, sep=";"))
    tsv = tmp_path / "t.csv"
    df.to_csv(tsv, sep="\t", index=False)
    got = read_table(tsv, sep="\\t")
    np.testing.assert_array_equal(got["x"].to_numpy(), df["x"].to_numpy())
    bad = tmp_path / "b.csv"                      # a decimal comma: more fields than the header
    bad.write_text("a;b\n1,5;2\n3;4,25\n")
    with pytest.raises(ValueError, match=re.escape("the header contains ';': try sep=';'.")):
        read_table(bad)
    with pytest.raises(ValueError, match="sep must be one character"):
        read_table(path, sep=";;")


def test_duplicate_column_names_are_an_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("y,x1,x1,g,g,g\n0,1,2,a,b,c\n1,3,4,a,b,c\n")
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert str(err.value) == (f"cannot read {str(path)!r}: the header names the same column "
                              "more than once: 'x1' (2 times), 'g' (3 times); give every "
                              "column its own name.")
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["a", "a"])
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(ValueError, match="the header names the same column more than once: "
                       "'a' .2 times."):
        read_table(tmp_path / "d.parquet")
    with pytest.raises(ValueError, match="the data have the same column name more than once"):
        read_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_rows_longer_than_the_header_are_an_error(tmp_path):
    # pandas would make the first field an index and shift every column by one
    path = tmp_path / "l.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert str(err.value) == (f"cannot read {str(path)!r} as CSV: its rows have more fields "
                              "than the header names. Name every column in the header, or "
                              "remove the delimiters at the ends of the rows.")


def test_damaged_gzip_streams_are_one_sentence(tmp_path):
    raw = gzip.compress(frame().to_csv(index=False).encode() * 50)
    damaged = bytearray(raw)
    damaged[30] ^= 0xFF                       # inside the deflate stream
    cases = {"mid.csv.gz": bytes(damaged), "cut.csv.gz": raw[: len(raw) // 2]}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError) as err:
            read_table(path)
        text = str(err.value)
        assert text.startswith(f"cannot read {str(path)!r} as CSV (gzip-compressed): ")
        assert "\n" not in text and err.value.__cause__ is None
