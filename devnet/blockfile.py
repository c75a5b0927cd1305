"""Generated blocks kept in a file as the JSON the node sends, so that serving them costs a read, not a generation.

The generator makes ~2,000 blocks a second and the node encodes each block it serves: right for tests, but a
benchmark of the bot's catch-up would then measure the emulator. A block file holds ``count`` consecutive
blocks of a :class:`~devnet.generator.ChainGenerator`, each as the exact text
:class:`~devnet.api.NodeApi` would send, with an index of offsets; a ``get_block_range`` of 1000 blocks is
one read of ~6 MB::

    blocks = BlockFile.cached(chain, start, count, directory)   # generated once (in parallel), then reused
    blocks.text(first, last)     # blocks first … last as JSON texts joined by commas

:func:`devnet.quickread.serve_blocks` makes a node answer from it.

Layout, in ``directory``: ``<key>.blocks`` holds the blocks' JSON texts (UTF-8), each followed by a comma, so
that blocks ``a … b`` are one slice less its last byte; ``<key>.index`` holds ``count + 1`` offsets
(little-endian uint64). The key names the chain (seed, first block, genesis time, parameters) and the range.
Both files are written under temporary names and renamed, the index last: a file with an index is complete.
A cached file is checked against a few blocks generated afresh, and made again if the generator changed.
"""

from __future__ import annotations

import array
import hashlib
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from devnet.generator import ChainGenerator, GeneratorParams

_FORMAT = 1  # bump when the layout changes
_CHUNK = 2_000  # blocks a worker generates at a time
_PARALLEL_FROM = 4_000  # fewer blocks are generated in this process
_SAMPLES = 3  # blocks generated afresh to check a cached file


def encode_block(block: dict[str, Any]) -> str:
    """A block's JSON text, exactly as :class:`~devnet.api.NodeApi` serializes it."""
    return json.dumps(block, ensure_ascii=False, separators=(",", ":"))


class BlockFile:
    """An open block file: blocks ``first`` … ``last``. Open with :meth:`open` or :meth:`cached`."""

    def __init__(self, path: Path, fd: int, first: int, offsets: array.array[int]) -> None:
        self.path = path
        self.first = first
        self.last = first + len(offsets) - 2
        self._fd = fd
        self._offsets = offsets

    @classmethod
    def open(cls, path: Path, first: int, count: int | None = None) -> BlockFile:
        """The block file at ``path`` (its ``.blocks`` and ``.index``), whose first block is ``first``; only its
        first ``count`` blocks, if given."""
        offsets = array.array("Q")
        offsets.frombytes(path.with_suffix(".index").read_bytes())
        if sys.byteorder != "little":
            offsets.byteswap()
        fd = os.open(path.with_suffix(".blocks"), os.O_RDONLY)
        if len(offsets) < 2 or os.fstat(fd).st_size != offsets[-1] or len(offsets) <= (count or 0):
            os.close(fd)
            raise ValueError(f"{path}: the index does not match the blocks")
        return cls(path, fd, first, offsets if count is None else offsets[: count + 1])

    @classmethod
    def cached(
        cls,
        chain: ChainGenerator,
        start: int,
        count: int,
        directory: Path,
        *,
        workers: int | None = None,
        progress: Any = None,
    ) -> BlockFile:
        """Blocks ``start`` … ``start + count - 1`` of ``chain``, from a file in ``directory`` that has them (the
        shortest) and still holds what the generator makes, else generated into a new file first (``workers``
        processes, default one per core). ``progress``, if given, is called with a line of text before a file
        is generated."""
        if count < 1 or start < chain.first_block or start + count - 1 > chain.last_block:
            raise ValueError(f"blocks {start} … {start + count - 1} are not all in the chain")
        for held, found in sorted(_files(directory, chain, start)):
            if held >= count:
                blocks = cls.open(found, start, count)
                if blocks.matches(chain):
                    return blocks
                blocks.close()
        path = directory / _key(chain, start, count)
        if progress is not None:
            progress(
                f"generating {count:,} blocks into {path.with_suffix('.blocks')} (made once, then reused)"
            )
        write_blocks(chain, start, count, path, workers=workers)
        return cls.open(path, start)

    def text(self, first: int, last: int) -> str:
        """Blocks ``first`` … ``last`` (all in the file) as JSON texts separated by commas."""
        if not self.first <= first <= last <= self.last:
            raise IndexError(
                f"blocks {first} … {last} are not all in {self.path} ({self.first} … {self.last})"
            )
        begin, end = self._offsets[first - self.first], self._offsets[last - self.first + 1] - 1
        return os.pread(self._fd, end - begin, begin).decode()

    def matches(self, chain: ChainGenerator) -> bool:
        """Whether a few of the blocks are what ``chain`` generates now."""
        step = max(1, (self.last - self.first) // (_SAMPLES - 1))
        samples = {min(self.first + i * step, self.last) for i in range(_SAMPLES)}
        return all(self.text(num, num) == encode_block(chain.block(num) or {}) for num in samples)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> BlockFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_blocks(
    chain: ChainGenerator, start: int, count: int, path: Path, *, workers: int | None = None
) -> None:
    """Generate blocks ``start`` … ``start + count - 1`` of ``chain`` into the block file ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = [(first, min(_CHUNK, start + count - first)) for first in range(start, start + count, _CHUNK)]
    offsets = array.array("Q", [0])
    data, index = path.with_suffix(".blocks.part"), path.with_suffix(".index.part")
    with data.open("wb") as out:
        for texts in _generate(chain, chunks, workers):
            for text in texts:
                out.write(text)
                offsets.append(offsets[-1] + len(text))
    if sys.byteorder != "little":
        offsets.byteswap()
    index.write_bytes(offsets.tobytes())
    data.replace(path.with_suffix(".blocks"))
    index.replace(path.with_suffix(".index"))


# -- generation --------------------------------------------------------------------------------------------------
class _Spec:
    """What rebuilds a :class:`ChainGenerator` in another process (the generator's caches do not travel)."""

    def __init__(self, seed: int, first: int, genesis: int, params: GeneratorParams, blocks: int) -> None:
        self.seed, self.first, self.genesis, self.params, self.blocks = seed, first, genesis, params, blocks

    @classmethod
    def of(cls, chain: ChainGenerator) -> _Spec:
        blocks = chain.last_block - chain.first_block + 1
        return cls(chain.seed, chain.first_block, chain.world.genesis_time, chain.params, blocks)

    def build(self) -> ChainGenerator:
        return ChainGenerator(self.seed, self.first, self.genesis, self.params, blocks=self.blocks)


def _key(chain: ChainGenerator, start: int, count: int | str) -> str:
    spec = _Spec.of(chain)
    params = hashlib.sha256(repr(spec.params).encode()).hexdigest()[:12]
    return f"v{_FORMAT}-seed{spec.seed}-{spec.first}-{spec.genesis}-{params}-{start}-{count}"


def _files(directory: Path, chain: ChainGenerator, start: int) -> list[tuple[int, Path]]:
    """``(count, path)`` of the complete block files in ``directory`` of ``chain`` from ``start``."""
    prefix = _key(chain, start, "")
    found = []
    for index in directory.glob(f"{prefix}*.index"):
        held = index.stem.removeprefix(prefix)
        if held.isdigit():
            found.append((int(held), index.with_suffix("")))
    return found


_worker_chain: ChainGenerator | None = None


def _start_worker(spec: _Spec) -> None:
    global _worker_chain  # one generator per worker process, its caches kept between chunks
    _worker_chain = spec.build()


def _worker_chunk(first_count: tuple[int, int]) -> list[bytes]:
    if _worker_chain is None:
        raise RuntimeError("a worker without its chain")
    return _chunk(_worker_chain, first_count)


def _chunk(chain: ChainGenerator, first_count: tuple[int, int]) -> list[bytes]:
    first, count = first_count
    return [_entry(chain, num) for num in range(first, first + count)]


def _entry(chain: ChainGenerator, num: int) -> bytes:
    block = chain.block(num)
    if block is None:
        raise ValueError(f"the chain has no block {num}")
    return encode_block(block).encode() + b","


def _generate(
    chain: ChainGenerator, chunks: list[tuple[int, int]], workers: int | None
) -> Iterator[list[bytes]]:
    """Each chunk's encoded blocks, in order."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or sum(count for _, count in chunks) < _PARALLEL_FROM:
        yield from (_chunk(chain, chunk) for chunk in chunks)
        return
    context = multiprocessing.get_context("spawn")  # no fork: the caller may have threads (a running node)
    spec = _Spec.of(chain)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(spec,)
    ) as pool:
        yield from pool.map(_worker_chunk, chunks)
