"""Executors that fix when the follower's read-ahead runs, for tests about what it may read: the
:class:`concurrent.futures.Executor` interface, with the work run at a chosen moment instead of in a thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from bot.errors import ChainError

P = ParamSpec("P")
T = TypeVar("T")


class AtOnce(Executor):
    """Runs the work when it is submitted: a range read ahead is read before the batch in hand commits."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except ChainError as exc:  # the future carries it, as a thread's would (others fail the test)
            future.set_exception(exc)
        return future


class WhenAsked(Executor):
    """Runs the work when its result is first asked for: a range read ahead is read after the batch in
    hand committed."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return _Lazy(lambda: fn(*args, **kwargs))


class _Lazy(Future[Any]):
    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work: Callable[[], Any] | None = work

    def result(self, timeout: float | None = None) -> Any:
        work, self._work = self._work, None
        if work is not None:
            try:
                self.set_result(work())
            except ChainError as exc:
                self.set_exception(exc)
        return super().result(timeout)
