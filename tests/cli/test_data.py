"""Reading data files for the command line."""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix.cli.data import parse_delimited, read_table
from gaussmix.cli.errors import InputError


def parse(text: str, header=None, delimiter=","):
    return parse_delimited(text.splitlines(), "data.csv", header, delimiter)


def test_numbers_match_numpy(tmp_path):
    rng = np.random.RandomState(0)
    values = rng.standard_normal((20, 3)) * 10.0 ** rng.randint(-5, 5, (20, 3))
    path = tmp_path / "values.csv"
    np.savetxt(path, values, delimiter=",", fmt="%.17g")
    X, names = read_table(str(path)).matrix()
    np.testing.assert_array_equal(X, np.loadtxt(path, delimiter=","))
    assert names == ["0", "1", "2"]


def test_a_text_row_above_numbers_is_a_header():
    table = parse("a,b\n1,2\n3,4\n")
    assert table.has_header and table.names == ["a", "b"]
    np.testing.assert_array_equal(table.matrix()[0], [[1, 2], [3, 4]])


def test_a_text_column_without_header_is_not_a_header():
    table = parse("1,2,setosa\n3,4,versicolor\n")
    assert not table.has_header
    X, _ = table.matrix(["0", "1"])
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    with pytest.raises(InputError, match=r"'2' \(e.g. 'setosa' on line 1\)"):
        table.matrix()


def test_forcing_no_header_makes_the_first_row_data():
    table = parse("a,b\n1,2\n", header=False)
    with pytest.raises(InputError, match="non-numeric columns"):
        table.matrix()


def test_blank_lines_are_skipped_and_lines_counted():
    table = parse("x,y\n1,2\n\n   \n3,\n")
    np.testing.assert_array_equal(table.row_numbers, [2, 5])
    with pytest.raises(
        InputError, match=r"'y' of data\.csv has a missing value on line 5"
    ):
        table.matrix()


def test_missing_values_read_as_nan_when_allowed():
    table = parse("x,y\n1,2\nNA,4\n5,\n")
    values, _ = table.matrix(missing=True)
    np.testing.assert_array_equal(np.isnan(values), [[0, 0], [1, 0], [0, 1]])
    with pytest.raises(InputError, match=r"line 3 \(2 such values in all; why\)"):
        table.matrix(why_not="why")


def test_missing_values_allowed_still_refuse_empty_rows_and_columns():
    with pytest.raises(InputError, match=r"column 'y' of data\.csv has no value"):
        parse("x,y\n1,\n2,\n").matrix(missing=True)
    empty_column_ok = parse("x,y\n1,\n2,\n").matrix(missing=True, empty_columns=True)
    assert np.isnan(empty_column_ok[0][:, 1]).all()
    with pytest.raises(InputError, match=r"no value .* on line 3 \(1 such rows"):
        parse("x,y\n1,2\nNA,\n").matrix(missing=True)
    with pytest.raises(InputError, match="an infinite value on line 2"):
        parse("x,y\ninf,\n2,3\n").matrix(missing=True)


def test_infinite_values_are_refused():
    with pytest.raises(InputError, match="an infinite value on line 3"):
        parse("x\n1\ninf\n").matrix()


def test_quoted_numbers_and_tabs():
    table = parse('"x"\t"y"\n"1.5"\t2\n', delimiter="\t")
    np.testing.assert_array_equal(table.matrix()[0], [[1.5, 2.0]])


def test_rows_of_another_width_name_their_line():
    with pytest.raises(InputError, match="line 3 has 3 fields where line 1 has 2"):
        parse("1,2\n3,4\n5,6,7\n")


def test_columns_by_name_or_position():
    table = parse("a,b,c\n1,2,3\n")
    assert table.matrix(["c", "0"])[1] == ["c", "a"]
    with pytest.raises(InputError, match=r"no column 'd' \(columns: a, b, c"):
        table.matrix(["d"])
    with pytest.raises(InputError, match="twice"):
        table.matrix(["a", "0"])


def test_header_names_must_be_unique_and_present():
    with pytest.raises(InputError, match="'a' twice"):
        parse("a,a\n1,2\n")
    with pytest.raises(InputError, match="field 1 is empty"):
        parse("a,,c\n1,2,3\n", header=True)


def test_empty_input_is_refused():
    with pytest.raises(InputError, match="no data"):
        parse("\n\n")
    with pytest.raises(InputError, match="header but no data rows"):
        parse("a,b\n")


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffx,y\n1,2\n".encode())
    assert read_table(str(path)).names == ["x", "y"]


def test_npy_columns_and_refusals(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(4))
    X, _ = read_table(str(tmp_path / "one.npy")).matrix()
    assert X.shape == (4, 1) and X.dtype == np.float64
    np.save(tmp_path / "objects.npy", np.array([1, "a"], dtype=object))
    with pytest.raises(InputError, match="Python objects"):
        read_table(str(tmp_path / "objects.npy"))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match=r"2-D array .* shape \(2, 2, 2\)"):
        read_table(str(tmp_path / "cube.npy"))


def test_parquet_nulls_are_missing(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0, None, 3.0], "n": [1, 2, 3]}), tmp_path / "t.pq")
    table = read_table(str(tmp_path / "t.pq"))
    np.testing.assert_array_equal(table.matrix(["n"])[0], [[1], [2], [3]])
    with pytest.raises(InputError, match=r"'x' .* missing value on row 1"):
        table.matrix()
