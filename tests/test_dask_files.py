"""Dask inputs that go wrong say where: bad Parquet files, column types that differ
between files or partitions, an unreachable scheduler.

One LocalCluster (1 worker process, 1 thread, loopback) for the module, as in
tests/test_dask.py. References: the file that was damaged here, the dtypes
written here, pyarrow's own reading of each file, a wall clock; and for the fits
that must work, the in-memory fit on the same rows.
"""

import os
import time

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.dataframe as dd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import logitlab  # noqa: E402
from logitlab import LogisticRegression  # noqa: E402


def _frames(seed=0, n_files=3, rows=60):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_files):
        x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
        y = (rng.random(rows) < 1 / (1 + np.exp(-(0.5 + x1 - x2)))).astype(np.int64)
        out.append(pd.DataFrame({"x1": x1, "x2": x2, "y": y}))
    return out


def _dataset(directory, frames):
    directory.mkdir()
    for i, df in enumerate(frames):
        df.to_parquet(directory / f"part{i}.parquet")
    return directory


def _fits(glob):
    """Every way a glob is fitted on Dask (estimator, formula, formula on a glob)."""
    yield lambda: LogisticRegression().fit(glob, "y")
    yield lambda: logitlab.fit("y ~ x1 + x2", glob, engine="dask")
    yield lambda: logitlab.fit("y ~ x1 + x2", glob)      # a glob goes to Dask by itself


def test_a_truncated_file_is_named(client, tmp_path):
    folder = _dataset(tmp_path / "d", _frames())
    bad = folder / "part1.parquet"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception) as direct, bad.open("rb") as fh:   # pyarrow itself
        pq.ParquetFile(fh)
    glob = str(folder / "*.parquet")
    for fit in _fits(glob):
        with pytest.raises(ValueError) as err:
            fit()
        assert str(err.value).startswith(f"cannot read the Parquet file {str(bad)!r} (of "
                                         f"{glob!r}): ")
        assert str(direct.value).split(".")[0] in str(err.value)
    model = LogisticRegression().fit(pd.read_parquet(folder / "part0.parquet")[["x1", "x2"]],
                                     pd.read_parquet(folder / "part0.parquet").y)
    with pytest.raises(ValueError, match="cannot read the Parquet file .*part1.parquet"):
        model.predict_proba(glob)


def test_a_damaged_data_page_is_named_when_the_pass_fails(client, tmp_path):
    # the footer is intact (so nothing shows before reading), the first data page is not
    folder = _dataset(tmp_path / "d", _frames(1))
    bad = folder / "part2.parquet"
    offset = pq.ParquetFile(bad).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(bad.read_bytes())
    data[offset:offset + 8] = b"\xff" * 8
    bad.write_bytes(bytes(data))
    pq.ParquetFile(bad)                                 # footer reads
    with pytest.raises(Exception):
        pq.read_table(bad)                              # data do not
    glob = str(folder / "*.parquet")
    for fit in _fits(glob):
        with pytest.raises(ValueError) as err:
            fit()
        assert str(err.value).startswith(f"cannot read the Parquet file {str(bad)!r}"), \
            str(err.value)


@pytest.mark.parametrize("column, cast, first, other", [
    ("y", lambda s: s.astype(bool), "int64", "bool"),
    ("y", lambda s: s.astype(float), "int64", "float64"),
    ("x2", lambda s: s.astype(np.float32), "float64", "float32"),
    ("x2", lambda s: s.map(repr), "float64", None),      # text: str / object by pandas
])
def test_a_column_typed_differently_in_one_file_is_named(client, tmp_path, column, cast,
                                                         first, other):
    frames = _frames(2)
    frames[1][column] = cast(frames[1][column])
    folder = _dataset(tmp_path / "d", frames)
    other = other or str(pd.read_parquet(folder / "part1.parquet")[column].dtype)
    assert str(pd.read_parquet(folder / "part0.parquet")[column].dtype) == first
    assert str(pd.read_parquet(folder / "part1.parquet")[column].dtype) == other
    glob = str(folder / "*.parquet")
    message = (f"column {column!r} has different types in the files of {glob!r}: {first} in "
               f"'part0.parquet', 'part2.parquet'; {other} in 'part1.parquet'. A column must "
               "have one type in every file")
    for fit in _fits(glob):
        with pytest.raises(ValueError) as err:
            fit()
        assert str(err.value).startswith(message), str(err.value)


def test_partitions_of_a_user_frame_with_different_dtypes_are_named(client, tmp_path):
    frames = _frames(3)
    frames[1]["y"] = frames[1]["y"].astype(bool)        # "the data changed between passes"
    folder = _dataset(tmp_path / "d", frames)
    ddf = dd.read_parquet(str(folder / "*.parquet"))     # read by the user: no file check
    message = ("column 'y' has different dtypes in different partitions: int64 in partitions "
               "0 (rows from 0), 2 (rows from 120); bool in partition 1 (rows from 60).")
    for fit in (lambda: LogisticRegression().fit(ddf, "y"),
                lambda: LogisticRegression().fit(ddf[["x1", "x2"]], ddf["y"]),
                lambda: logitlab.fit("y ~ x1 + x2", ddf)):
        with pytest.raises(ValueError) as err:
            fit()
        assert str(err.value).startswith(message), str(err.value)


def test_a_series_from_the_same_parquet_frame_lines_up(client, tmp_path):
    # Dask fuses the partitions of a single Parquet column when optimizing; y given as
    # that column must still line up with X row for row
    frames = _frames(4)
    folder = _dataset(tmp_path / "d", frames)
    ddf = dd.read_parquet(str(folder / "*.parquet"))
    model = LogisticRegression().fit(ddf[["x1", "x2"]], ddf["y"])
    rows = pd.concat(frames, ignore_index=True)
    memory = LogisticRegression().fit(rows[["x1", "x2"]], rows.y)
    np.testing.assert_allclose(model.coef_, memory.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.intercept_, memory.intercept_, rtol=1e-10)


@pytest.mark.slow
def test_an_unreachable_scheduler_fails_fast_with_one_line(tmp_path):
    folder = _dataset(tmp_path / "d", _frames(5))
    glob = str(folder / "*.parquet")
    for timeout, options in ((5, {"address": "tcp://127.0.0.1:1"}),
                             (1, {"address": "tcp://127.0.0.1:1", "timeout": 1})):
        start = time.monotonic()
        with pytest.raises(ConnectionError) as err:
            LogisticRegression(engine_options=options).fit(glob, "y")
        elapsed = time.monotonic() - start
        assert elapsed < timeout + 2, elapsed
        assert "\n" not in str(err.value)
        assert str(err.value).startswith(f"cannot connect to the Dask scheduler at "
                                         f"'tcp://127.0.0.1:1' within {timeout} s (")
    with pytest.raises(ValueError, match="engine_options\\['timeout'\\] must be a positive"):
        LogisticRegression(engine_options={"timeout": 0}).fit(glob, "y")


@pytest.mark.slow
def test_cli_unreachable_scheduler_is_exit_code_2(tmp_path):
    import subprocess
    import sys
    folder = _dataset(tmp_path / "d", _frames(6))
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "logitlab.cli", "fit", str(folder / "*.parquet"),
                          "--target", "y", "--dask", "tcp://127.0.0.1:1"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "80"})
    assert time.monotonic() - start < 30                 # interpreter start-up included
    assert out.returncode == 2
    assert out.stderr.startswith("error: cannot connect to the Dask scheduler at "
                                 "'tcp://127.0.0.1:1' within 5 s")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_a_column_missing_from_one_file_of_a_directory_is_named(client, tmp_path):
    frames = _frames(7)
    root = tmp_path / "dataset"
    for i, df in enumerate(frames):               # the same file name in each folder
        (root / f"batch={i}").mkdir(parents=True)
        (df.drop(columns="x2") if i == 2 else df).to_parquet(root / f"batch={i}" / "part.parquet")
    assert "x2" not in pd.read_parquet(root / "batch=2" / "part.parquet").columns
    with pytest.raises(ValueError) as err:
        LogisticRegression().fit(str(root), "y")
    assert str(err.value) == (f"column 'x2' is missing from 1 of the 3 files of {str(root)!r} "
                              "('batch=2/part.parquet'); every file of a dataset must have "
                              "the same columns.")
