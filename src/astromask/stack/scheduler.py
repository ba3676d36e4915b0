"""Running one task per image: in this process, on a Dask local scheduler, or on a Dask cluster.

``scheduler`` is

* ``None``: a plain loop in this process (Dask is not imported);
* ``'synchronous'``, ``'threads'`` or ``'processes'``: Dask's local schedulers
  (``dask.compute(..., scheduler=name)``; one process pool serves every pass);
* an address such as ``'tcp://127.0.0.1:8786'``: a running Dask distributed
  scheduler (one client connection serves every pass). Its workers must see
  the same file system paths as this process: they read the inputs and write
  the outputs themselves.

A :class:`Runner` offers two patterns. :meth:`Runner.reduce` maps a function
over the items and combines the results in a tree (a few at a time), so that
only a handful of per-image results exist at once. :meth:`Runner.map` maps a
function over the items with one shared argument (sent once per worker on a
cluster) and returns the results in the items' order. Both draw a progress bar
over the items. :func:`read_ahead` is the in-process loop of the passes, which
computes the next item in a thread while the caller uses the current one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from .._optional import require
from ..errors import AstromaskError, ParameterError
from ..progress import progress

__all__ = ["LOCAL_SCHEDULERS", "Runner", "check_scheduler", "read_ahead"]

LOCAL_SCHEDULERS = ("synchronous", "threads", "processes")
_ADDRESS = re.compile(r"^[a-z][a-z0-9+]*://\S+$")
FAN_IN = 8  # partial results combined per reduction task
CONNECT_TIMEOUT = "20s"


def check_scheduler(scheduler: str | None) -> str | None:
    """``scheduler`` if valid, else ``ValueError`` naming the accepted values."""
    if scheduler is None or scheduler in LOCAL_SCHEDULERS or _ADDRESS.match(scheduler):
        return scheduler
    raise ParameterError(
        f"scheduler must be one of {', '.join(LOCAL_SCHEDULERS)} or an address such as "
        f"tcp://host:port, got {scheduler!r}"
    )


def read_ahead(func: Callable, items: Sequence, *, bar: bool = True) -> Iterator:
    """``func(item)`` for each item in order, the next one computed in a thread while the caller
    uses the current one (reading a file releases the GIL, and so do the compiled kernels).

    At most two results exist at once: the one given and the one being made (the caller
    may keep a third). An exception of ``func`` is raised when its result is due.

    >>> list(read_ahead(lambda x: x * x, [1, 2, 3], bar=False))
    [1, 4, 9]
    """
    if not len(items):
        return
    steps = range(1, len(items) + 1)
    with ThreadPoolExecutor(1, thread_name_prefix="astromask-read") as reader:
        ahead = reader.submit(func, items[0])
        for following in progress(steps) if bar else steps:
            result = ahead.result()
            ahead = reader.submit(func, items[following]) if following < len(items) else None
            try:
                yield result
            except GeneratorExit:
                if ahead is not None:
                    ahead.cancel()
                raise
            del result


def _import_dask():
    return require("dask", needed_for="Dask schedulers")


class _Bar:
    """A progress bar advanced by hand (tasks finish out of order)."""

    def __init__(self, total: int) -> None:
        self._steps = progress(range(total))

    def step(self) -> None:
        next(self._steps, None)

    def close(self) -> None:
        for _ in self._steps:
            pass


def _callback(prefix: str, bar: _Bar):
    """A Dask local-scheduler callback advancing ``bar`` when a task whose key starts with ``prefix`` ends."""
    from dask.callbacks import Callback

    class _Advance(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if isinstance(key, str) and key.startswith(prefix):
                bar.step()

    return _Advance()


class Runner:
    """Runs per-image tasks on one scheduler (see the module docstring); a context manager.

    Parameters
    ----------
    scheduler : str, optional
        ``None``, ``'synchronous'``, ``'threads'``, ``'processes'`` or ``'tcp://host:port'``.

    Examples
    --------
    >>> with Runner() as runner:
    ...     runner.reduce(lambda x: x * x, range(1, 5), sum), runner.map(lambda x, k: x * k, [1, 2], 10)
    (30, [10, 20])
    """

    def __init__(self, scheduler: str | None = None) -> None:
        self.scheduler = check_scheduler(scheduler)
        self._pool = None
        self._client = None

    @property
    def _local(self) -> bool:
        return self.scheduler in LOCAL_SCHEDULERS

    def __enter__(self) -> Runner:
        if self.scheduler == "processes":
            _import_dask()
            from concurrent.futures import ProcessPoolExecutor

            from dask.multiprocessing import get_context
            from dask.system import CPU_COUNT

            self._pool = ProcessPoolExecutor(CPU_COUNT, mp_context=get_context())
        elif self.scheduler is not None and not self._local:
            _import_dask()
            from distributed import Client

            try:
                self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise AstromaskError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def _compute(self, graph, prefix: str, total: int):
        dask = _import_dask()
        options = {"pool": self._pool} if self._pool is not None else {}
        bar = _Bar(total)
        try:
            with _callback(prefix, bar):
                return dask.compute(*graph, scheduler=self.scheduler, **options)
        finally:
            bar.close()

    # -- reduction ---------------------------------------------------------------------------------

    def reduce(self, func: Callable, items: Sequence, combine: Callable, *, label: str = "task"):
        """``combine`` of ``func(item)`` over every item, reduced in a tree.

        Parameters
        ----------
        func : callable
            ``func(item) -> partial``.
        items : sequence
            At least one item.
        combine : callable
            ``combine(list_of_partials) -> partial``; must not modify its
            inputs (Dask may retry a task).
        label : str
            Task name prefix (seen in Dask dashboards).
        """
        if not len(items):
            raise ParameterError("nothing to reduce")
        if self.scheduler is None:
            result = None
            for item in progress(items):
                part = func(item)
                result = part if result is None else combine([result, part])
            return result
        if self._local:
            return self._reduce_local(func, items, combine, label)
        return self._reduce_cluster(func, items, combine, label)

    def _reduce_local(self, func, items, combine, label):
        dask = _import_dask()
        prefix = f"{label}-leaf-"
        level = [dask.delayed(func, pure=False)(item, dask_key_name=f"{prefix}{i}") for i, item in enumerate(items)]
        depth = 0
        while len(level) > 1:
            depth += 1
            level = [
                dask.delayed(combine, pure=False)(level[i : i + FAN_IN], dask_key_name=f"{label}-combine-{depth}-{i}")
                for i in range(0, len(level), FAN_IN)
            ]
        (result,) = self._compute(level, prefix, len(items))
        return result

    def _reduce_cluster(self, func, items, combine, label):
        """Leaves combined on the cluster as they finish; results no longer referenced are freed there."""
        from distributed import as_completed

        client = self._client
        keys = [f"{label}-leaf-{uuid.uuid4().hex[:8]}-{i}" for i in range(len(items))]
        pending = as_completed(client.map(func, list(items), pure=False, key=keys), loop=client.loop)
        leaf_keys = set(keys)
        waiting = []
        bar = _Bar(len(items))
        try:
            for future in pending:
                if future.status == "error":
                    future.result()  # raises the task's exception
                if future.key in leaf_keys:
                    bar.step()
                waiting.append(future)
                if len(waiting) == FAN_IN or (len(waiting) > 1 and pending.is_empty()):
                    pending.add(client.submit(combine, waiting, pure=False))
                    waiting = []
            return waiting[0].result()
        finally:
            bar.close()

    # -- map ---------------------------------------------------------------------------------------

    def map(self, func: Callable, items: Sequence, shared=None, *, label: str = "task") -> list:
        """``[func(item, shared) for item in items]``; ``shared`` goes to each cluster worker once."""
        if self.scheduler is None:
            return [func(item, shared) for item in progress(items)]
        if self._local:
            dask = _import_dask()
            prefix = f"{label}-"
            shared_task = dask.delayed(shared, name=f"{label}-shared") if shared is not None else None
            tasks = [
                dask.delayed(func, pure=False)(item, shared_task, dask_key_name=f"{prefix}{i}")
                for i, item in enumerate(items)
            ]
            return list(self._compute(tasks, prefix, len(items)))
        return self._map_cluster(func, items, shared, label)

    def _map_cluster(self, func, items, shared, label):
        from distributed import as_completed

        client = self._client
        remote = client.scatter(shared, broadcast=True) if shared is not None else None
        token = uuid.uuid4().hex[:8]
        futures = client.map(
            func,
            list(items),
            [remote] * len(items),
            pure=False,
            key=[f"{label}-{token}-{i}" for i in range(len(items))],
        )
        order = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(futures)
        bar = _Bar(len(futures))
        try:
            for future in as_completed(futures, loop=client.loop):
                results[order[future.key]] = future.result()  # raises the task's exception
                bar.step()
        finally:
            bar.close()
        return results
