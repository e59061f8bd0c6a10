"""What one EM pass over a dataset leaves for the next, by where the rows live.

:class:`~gaussmix.fit.host_pass.KeptBlocks` (rows in memory) and
:class:`~gaussmix.fit.host_pass.StreamedWindows` (rows read from disk) are
the two kinds; :func:`PreparedBlocks` picks one from a byte budget.
"""

from __future__ import annotations

from gaussmix.fit.host_pass import PREPARED_BYTES_LIMIT, KeptBlocks, StreamedWindows

__all__ = ["PREPARED_BYTES_LIMIT", "KeptBlocks", "PreparedBlocks", "StreamedWindows"]


def PreparedBlocks(
    limit_bytes: int = PREPARED_BYTES_LIMIT,
) -> KeptBlocks | StreamedWindows:
    """Blocks kept up to ``limit_bytes``; streamed windows when that is 0.

    Parameters
    ----------
    limit_bytes : int
        Bytes of blocks that may be kept; 0 keeps nothing that grows with
        the data (streamed rows).

    Returns
    -------
    KeptBlocks or StreamedWindows
    """
    if limit_bytes <= 0:
        return StreamedWindows()
    return KeptBlocks(limit_bytes)
