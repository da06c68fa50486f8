"""A worker process for parallel index rebuilds: `python -m search.segment_worker`.

Reads pickled chunks of `ListingDocument`s from stdin and writes, for each, the list of
`index_fields` results (or the exception) to stdout, as length-prefixed pickle frames.
Exits when stdin closes. Only ever started by `EmbeddedEngine.rebuild`, which trusts it
as it trusts itself (the frames never leave the two processes' pipes).
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import IO, Any

_HEADER = struct.Struct("!Q")


def write_frame(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("worker closed its output")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("worker output cut short")
    return pickle.loads(data)  # noqa: S301 -- our own child process over a private pipe, never outside input


def main() -> None:
    from .tantivy_index import index_fields_batch

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            chunk = read_frame(stdin)
        except EOFError:
            return
        try:
            result: Any = index_fields_batch(chunk)
        except Exception as exc:
            result = RuntimeError(f"{type(exc).__name__}: {exc}")
        write_frame(stdout, result)


if __name__ == "__main__":
    main()
