"""Memory a fit from a file holds: traced peak of one EM iteration.

Writes an N x 8 float64 ``.npy`` file (3,000,000 rows, 183 MiB, by default)
and the same rows as an HDF5 dataset, then, each in a fresh process, fits
GaussianMixture with ``max_iter=1`` from the file (memory map or HDF5) and
reports the peak of Python's traced allocations (``tracemalloc``: numpy's
buffers, not the file's pages, which the operating system maps and drops)
and the peak of ``score`` on the same file. The file is read, never loaded.

    python benchmarks/streamed_memory.py [--rows N] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np
from _common import in_child, machine_description

#: (storage, chunk_size, n_components, covariance_type) per row of the table.
CASES = [
    ("memmap", 2_000, 2, "diag"),
    ("memmap", 10_000, 2, "diag"),
    ("memmap", 50_000, 2, "diag"),
    ("hdf5", 50_000, 2, "diag"),
    ("memmap", 20_000, 6, "full"),
    ("memmap", None, 2, "diag"),
]


def write_files(directory: str, n_rows: int) -> tuple[str, str]:
    import h5py

    npy, h5 = (
        os.path.join(directory, "gaussmix-rows.npy"),
        os.path.join(directory, "gaussmix-rows.h5"),
    )
    out = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float64, shape=(n_rows, 8))
    draw = np.random.RandomState(1)
    step = 500_000
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        centres = draw.randint(2, size=stop - start)[:, None] * 4.0
        out[start:stop] = centres + draw.normal(size=(stop - start, 8))
    out.flush()
    with h5py.File(h5, "w") as handle:
        handle.create_dataset("X", data=np.load(npy, mmap_mode="r"), chunks=(65536, 8))
    return npy, h5


def traced_peaks(path: str, storage: str, chunk, n_components, covariance_type):
    import tracemalloc

    import h5py
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import GaussianMixture

    warnings.simplefilter("ignore", ConvergenceWarning)
    handle = None
    if storage == "memmap":
        X = np.load(path, mmap_mode="r")
    else:
        handle = h5py.File(path, "r")
        X = handle["X"]
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        chunk_size=chunk,
        max_iter=1,
        random_state=0,
    )
    tracemalloc.start()
    model.fit(X)
    fit_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    model.score(X)
    score_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if handle is not None:
        handle.close()
    return fit_peak / 2**20, score_peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    npy, h5 = write_files(args.dir, args.rows)
    try:
        print(f"# {machine_description()}; {args.rows:,} x 8 float64")
        print(
            "| storage | chunk_size | K | covariance | fit peak MiB "
            "| score peak MiB |\n|---|---|---|---|---|---|"
        )
        for storage, chunk, n_components, covariance_type in CASES:
            path = npy if storage == "memmap" else h5
            (fit_peak, score_peak), _ = in_child(
                traced_peaks, path, storage, chunk, n_components, covariance_type
            )
            print(
                f"| {storage} | {chunk or 'default'} | {n_components} | "
                f"{covariance_type} | {fit_peak:.1f} | {score_peak:.1f} |",
                flush=True,
            )
    finally:
        for path in (npy, h5):
            os.remove(path)


if __name__ == "__main__":
    main()
