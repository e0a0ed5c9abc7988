"""Seed 002's SMQueue usage, written from the seed's text, run against
conveyor.SMQueue: the only change is the import."""

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from conveyor import SMQueue  # the seed: from shared_memory_queue import SMQueue
import conveyor

F_DATA_SIZE = 1024
I_DATA_SIZE = 16


def producer(queue, worker, count):
    """A producer process, as in the seed: pad the item to the preset size and put it."""
    for n in range(count):
        k = worker * count + n
        f_data = np.full(F_DATA_SIZE - (k % 7), k, dtype=np.float32)  # shorter than the preset: padded with zeros
        i_data = np.full(I_DATA_SIZE, k, dtype=np.int32)
        if n % 2:
            queue.push(f_data, i_data)
        else:
            queue.put(f_data, i_data)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_the_seeds_usage(start_method):
    context = multiprocessing.get_context(start_method)
    queue = SMQueue(10, F_DATA_SIZE, I_DATA_SIZE)
    workers, count = 3, 400
    processes = [context.Process(target=producer, args=(queue, w, count)) for w in range(workers)]
    for process in processes:
        process.start()
    seen = []
    for _ in range(workers * count):
        f_data, i_data = queue.get(time_gap=0.01, time_out=3000, cold_boot=True)
        k = int(i_data[0])
        assert f_data.shape == (F_DATA_SIZE,) and i_data.shape == (I_DATA_SIZE,)
        assert np.all(f_data[:F_DATA_SIZE - k % 7] == k) and np.all(f_data[F_DATA_SIZE - k % 7:] == 0)
        assert np.all(i_data == k)
        seen.append(k)
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert sorted(seen) == list(range(workers * count))
    # Empty: the seed gives (None, None) after time_out polls of time_gap; here after time_gap * time_out.
    started = time.monotonic()
    assert queue.get(time_gap=0.01, time_out=5) == (None, None)
    assert time.monotonic() - started < 5
    depth, capacity = queue.queue_info().split("/")
    assert depth == "0" and int(capacity) >= 10
    queue.close()


def test_reset_and_queue_info():
    queue = SMQueue(4, 8, 2)
    for k in range(3):
        queue.put(np.full(8, k, np.float32), np.full(2, k, np.int32))
    assert queue.queue_info().startswith("3/")
    queue.reset()
    assert queue.queue_info().startswith("0/")
    queue.put(np.full(8, 9, np.float32), np.full(2, 9, np.int32))
    f_data, i_data = queue.get(time_gap=0.01, time_out=100)
    assert f_data[0] == 9 and i_data[1] == 9
    queue.close()


def produce_then_hang(queue, count):
    for k in range(count):
        queue.put(np.full(F_DATA_SIZE, k, np.float32), np.full(I_DATA_SIZE, k, np.int32))
    time.sleep(3600)


def test_a_dead_producer_does_not_hang_the_consumer():
    """The seed's consumer would wait for a dead producer forever (cold_boot) or
    time out; here it gets the items, then ProducerDied naming the process."""
    context = multiprocessing.get_context("spawn")
    queue = SMQueue(10, F_DATA_SIZE, I_DATA_SIZE)
    process = context.Process(target=produce_then_hang, args=(queue, 5))
    process.start()
    got = [int(queue.get(time_gap=0.01, time_out=3000, cold_boot=True)[1][0]) for _ in range(5)]
    os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(conveyor.ProducerDied) as died:
        queue.get(time_gap=0.01, time_out=3000, cold_boot=True)
    process.join(10)
    assert got == list(range(5))
    assert died.value.pid == process.pid and "signal 9" in died.value.status
    queue.close()


def producer_that_finishes(queue, worker, count):
    producer(queue, worker, count)
    queue.finish()


def test_producers_that_finish_end_the_queue():
    context = multiprocessing.get_context("spawn")
    workers, count = 2, 150
    queue = SMQueue(8, F_DATA_SIZE, I_DATA_SIZE, producers=workers)
    processes = [context.Process(target=producer_that_finishes, args=(queue, w, count)) for w in range(workers)]
    for process in processes:
        process.start()
    seen = []
    started = time.monotonic()
    while True:
        f_data, i_data = queue.get(time_gap=0.1, time_out=300)
        if f_data is None:
            break
        seen.append(int(i_data[0]))
    assert queue.ended  # the end, not a timeout: it came well before time_gap * time_out
    assert time.monotonic() - started < 30
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert sorted(seen) == list(range(workers * count))
    assert queue.get(time_gap=0.1, time_out=300) == (None, None)
    queue.close()
