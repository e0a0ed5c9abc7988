"""``SMQueue``: seed 002's shared-memory queue, same class, same methods,
backed by a Conveyor ring.

The seed's example runs with only its import changed
(``from conveyor import SMQueue``). What differs, on purpose:

- Nobody sleep-polls: ``get`` and ``put`` wait on a futex, so an item is
  handed over in microseconds instead of ``time_gap`` (0.1 s) later. The
  seed's ``time_gap`` only scales the timeout: ``get`` gives up after
  ``time_gap * time_out`` seconds and returns ``(None, None)`` as the seed
  does (with ``cold_boot``, the first wait lasts at least 60 seconds; the
  seed's had no limit, but a producer that never comes must not block forever).
- No lock is held while copying: each producer process writes its own lane
  of ``queue_size`` slots. A queue has ``producers`` lanes (default 4): at
  most that many processes put into it at once (a lane is freed when its
  process ends), and up to ``producers * queue_size`` items wait in it
  (/dev/shm needs that many items' bytes).
- A producer that dies does not hang the consumer: ``get`` first returns
  everything it put, then raises ``ProducerDied`` naming its pid and how it
  ended. A producer whose consumer died gets ``ConsumerGone`` instead of
  waiting forever.
- ``reset`` empties the queue for every process (the seed's only reset its
  own indices); a producer waiting in ``put`` then puts into the emptied queue.
- Arrays ``get`` returns are views into the slot (as in the seed) and stay
  valid until the next ``get`` (the seed's "+1 slot"), which releases them.
- An item shorter than the preset size is padded with zeros (the seed's
  blog asks the producer to pad; longer ones raise ``ItemTooLarge``).
- ``queue_info`` reports ``"depth/capacity"`` over all lanes.
- An end (new): a producer process that is done calls ``finish()``, which
  closes its lane. Once all ``producers`` lanes are finished (make the queue
  with ``producers=`` the number of producer processes) and everything was
  taken, ``get`` returns
  ``(None, None)`` at once (as for a timeout) and ``ended`` is True, so a
  consumer stops without waiting out ``time_out``. A ``put`` after
  ``finish`` in that process raises ``Closed``; ``reset`` reopens the
  finished lanes. A process that ends without ``finish`` frees its lane
  (``close`` and multiprocessing's exit do), or is reported dead when killed.

The queue is a named segment in /dev/shm; it pickles as its name, so it
can be passed to ``multiprocessing`` processes (fork, forkserver or spawn),
which attach on first use. A fork waits for Conveyor's own threads to be
idle, so a forked child inherits no lock of theirs; one held by another
thread of yours at the fork (one inside a Conveyor call, say) it does
inherit: prefer "spawn" or "forkserver" (see the README, "Python").
"""

import multiprocessing.util
import os

import numpy as np

from . import errors
from .ring import Ring


class SMQueue(object):
    """A shared-memory queue of items of ``f_data_size`` float32 and
    ``i_data_size`` int32 values; each producer process may have
    ``queue_size`` items waiting."""

    def __init__(self, queue_size, f_data_size, i_data_size, producers=4):
        self.queue_size = int(queue_size)
        self.f_data_size = int(f_data_size)
        self.i_data_size = int(i_data_size)
        slots = max(2, self.queue_size)
        schema = [("f", "f32", (self.f_data_size,)), ("i", "i32", (self.i_data_size,))]
        self._ring = Ring.create(schema, lanes=producers, slots=slots, name=True)
        self._name = self._ring.name
        self._schema = schema
        self._local = _Local(os.getpid(), self._ring)
        #: True once ``get`` saw the end: every producer finished and everything was taken.
        self.ended = False

    # -- pickling: a queue travels as its name; each process attaches itself

    def __getstate__(self):
        return {"queue_size": self.queue_size, "f_data_size": self.f_data_size, "i_data_size": self.i_data_size,
                "_name": self._name, "_schema": self._schema}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.ended = False
        self._ring = None
        self._local = None

    def _here(self):
        local = self._local
        if local is None or local.pid != os.getpid():
            ring = self._ring if local is None and self._ring is not None else Ring.attach(name=self._name,
                                                                                           schema=self._schema)
            local = self._local = _Local(os.getpid(), ring)
        return local

    # -- the seed's methods

    def get(self, time_gap=0.1, time_out=1234, cold_boot=False):
        ''' get f_data, i_data from queue '''
        local = self._here()
        local.release()
        consumer = local.consumer()
        try:
            lease = consumer.next(timeout=time_gap * time_out, cold_boot=cold_boot)
        except (errors.TimedOut, errors.ProducerStalled):
            return None, None
        if lease is None:
            self.ended = True
            return None, None
        local.lease = lease
        return lease.arrays[0], lease.arrays[1]

    def put(self, f_data, i_data, time_gap=0.1):
        ''' put f_data and i_data to queue '''
        producer = self._here().producer()
        while True:
            try:
                with producer.reserve(timeout=None) as item:
                    _pad(item["f"], f_data, "f_data")
                    _pad(item["i"], i_data, "i_data")
                return
            except errors.RingReset:
                continue  # the queue was emptied while this put waited: put into the new one

    def finish(self):
        """This process puts nothing more: its items are still delivered, and
        once all ``producers`` lanes are finished, ``get`` returns
        ``(None, None)`` at once and sets ``ended``. A process that never put
        claims a lane to finish it."""
        self._here().producer().finish()

    def push(self, f_data, i_data, time_gap=0.1):
        self.put(f_data, i_data, time_gap)

    def reset(self):
        self._here().ring.reset()

    def queue_info(self):
        info = self._here().ring.info()
        return "{}/{}".format(info["depth"], info["capacity"])

    def close(self):
        """Lets go of this process's lane, lease and ring (the creator's close
        unlinks the segment). Dropping the queue, or the process ending, does it too."""
        local, self._local = self._local, None
        if local is not None and local.pid == os.getpid():
            local.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _pad(view, data, what):
    data = np.asarray(data).reshape(-1)
    if data.size > view.size:
        raise errors.ItemTooLarge("%s has %d values but the queue's items hold %d; nothing was put"
                                  % (what, data.size, view.size))
    view[:data.size] = data
    view[data.size:] = 0


class _Local:
    """One process's side of a queue: its ring, its lane, its consumer and held lease."""

    def __init__(self, pid, ring):
        self.pid = pid
        self.ring = ring
        self._producer = None
        self._consumer = None
        self.lease = None
        # multiprocessing runs these finalizers as a child process ends, fork or spawn.
        multiprocessing.util.Finalize(self, _Local.close, args=(self,), exitpriority=10)

    def producer(self):
        if self._producer is None:
            self._producer = self.ring.producer()
        return self._producer

    def consumer(self):
        if self._consumer is None:
            self._consumer = self.ring.consumer()
        return self._consumer

    def release(self):
        lease, self.lease = self.lease, None
        if lease is not None:
            lease.release()

    def close(self):
        if self.pid != os.getpid():
            return
        self.release()
        for part in (self._producer, self._consumer, self.ring):
            if part is not None:
                part.close()
        self._producer = self._consumer = None
