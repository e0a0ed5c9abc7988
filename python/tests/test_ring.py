"""Rings between Python and Swift processes: contents checked item by item,
deaths reported, nothing hanging."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import conveyor
import items
from conftest import run_python

SPAWN = multiprocessing.get_context("spawn")
FORK = multiprocessing.get_context("fork")


def consume(consumer, count, timeout=30):
    seen = []
    for _ in range(count):
        with consumer.next(timeout=timeout) as lease:
            seen.append(items.check(lease))
    return seen


def test_python_producer_processes_to_python_consumer():
    with conveyor.Ring.create(items.SCHEMA, lanes=2, slots=4, name=True) as ring, ring.consumer() as consumer:
        workers = [SPAWN.Process(target=items.produce, args=(ring.name, w * 1000, 1000)) for w in range(2)]
        for worker in workers:
            worker.start()
        seen = consume(consumer, 2000)
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0
    assert sorted(seen) == list(range(1000)) + list(range(1000, 2000))
    # Each producer's items arrive in its order.
    assert [k for k in seen if k < 1000] == list(range(1000))


def test_producer_attaches_by_inherited_descriptor():
    code = ("import sys, conveyor, items\n"
            "ring = conveyor.Ring.attach(fd=int(sys.argv[1]), schema=items.SCHEMA)\n"
            "with ring.producer() as p:\n"
            "    [items.write(p, k) for k in range(300)]\n")
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=4) as ring, ring.consumer() as consumer:
        assert ring.name is None
        child = run_python("import sys; sys.path.insert(0, %r)\n" % os.path.dirname(__file__) + code, ring.descriptor,
                           pass_fds=[ring.descriptor])
        assert consume(consumer, 300) == list(range(300))
        assert child.wait(30) == 0, child.stderr.read()


def test_swift_producers_to_python_consumer(helper):
    with conveyor.Ring.create(items.SCHEMA, lanes=2, slots=8, name=True) as ring, ring.consumer(ordered=True) as consumer:
        producers = [subprocess.Popen([helper, "produce", "--name", ring.name, "--lane", str(w), "--start",
                                       str(w * 5000), "--count", "500"], stdout=subprocess.PIPE) for w in range(2)]
        seen = consume(consumer, 1000)
        for producer in producers:
            assert producer.wait(30) == 0
    # Ordered: item n comes from lane n % 2.
    assert seen[0::2] == list(range(500)) and seen[1::2] == list(range(5000, 5500))


def test_python_producers_to_swift_consumer(helper):
    with conveyor.Ring.create(items.SCHEMA, lanes=2, slots=4, name=True) as ring:
        consumer = subprocess.Popen([helper, "consume", "--name", ring.name, "--count", "800"],
                                    stdout=subprocess.PIPE, universal_newlines=True)
        workers = [SPAWN.Process(target=items.produce, args=(ring.name, w * 400, 400)) for w in range(2)]
        for worker in workers:
            worker.start()
        out, _ = consumer.communicate(timeout=60)
        for worker in workers:
            worker.join(30)
    assert consumer.returncode == 0
    assert "consumed 800 corrupt 0" in out


def produce_forever(name, committed):
    ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
    producer = ring.producer()
    k = 0
    while True:
        items.write(producer, k)
        k += 1
        committed.value = k


def test_killed_python_producer_is_reported_after_its_items():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=4, name=True) as ring, ring.consumer() as consumer:
        committed = SPAWN.Value("q", 0, lock=False)
        worker = SPAWN.Process(target=produce_forever, args=(ring.name, committed))
        worker.start()
        seen = consume(consumer, 50)
        os.kill(worker.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(conveyor.ProducerDied) as died:
            while True:
                with consumer.next(timeout=10) as lease:
                    seen.append(items.check(lease))
        assert time.monotonic() - started < 10
        worker.join(10)
    error = died.value
    assert error.pid == worker.pid and error.lane == 0
    assert "signal 9" in error.status, error.status
    assert str(worker.pid) in str(error)
    # Everything it committed, each once, in order; nothing after.
    assert seen == list(range(len(seen)))
    assert len(seen) >= committed.value - 1


def consume_slowly(name, started):
    ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
    consumer = ring.consumer()
    with consumer.next(timeout=30):
        started.set()
        time.sleep(3600)


def test_killed_consumer_makes_producer_give_up():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2, name=True) as ring, ring.producer() as producer:
        started = SPAWN.Event()
        reader = SPAWN.Process(target=consume_slowly, args=(ring.name, started))
        reader.start()
        items.write(producer, 0)
        assert started.wait(30)
        os.kill(reader.pid, signal.SIGKILL)
        reader.join(10)
        began = time.monotonic()
        with pytest.raises(conveyor.ConsumerGone):
            for k in range(1, 100):
                items.write(producer, k, timeout=20)
        assert time.monotonic() - began < 20


def produce_until_consumer_gone(name, outcome, started):
    ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
    with ring.producer() as producer:
        try:
            items.write(producer, 0, timeout=20)
            # The lane fills only once the consumer has taken item 0, so the producer blocks knowing it.
            assert started.wait(30)
            for k in range(1, 100):
                items.write(producer, k, timeout=20)
            outcome.put("wrote every item")
        except conveyor.ConsumerGone:
            outcome.put("consumer gone")
        except conveyor.ConveyorError as error:
            outcome.put("%s: %s" % (type(error).__name__, error))


def test_forked_processes_watch_their_peers_themselves():
    # The parent made a named ring, so its peer watcher (a thread) runs; forked children do not
    # inherit that thread, so each must watch its peers with a watcher of its own. Here a forked
    # producer blocked on a full lane must learn that its only consumer (forked too) was killed.
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2, name=True) as ring:
        outcome, started = FORK.Queue(), FORK.Event()
        writer = FORK.Process(target=produce_until_consumer_gone, args=(ring.name, outcome, started))
        reader = FORK.Process(target=consume_slowly, args=(ring.name, started))
        writer.start()
        reader.start()
        assert started.wait(30)
        os.kill(reader.pid, signal.SIGKILL)
        reader.join(10)
        assert outcome.get(timeout=60) == "consumer gone"
        writer.join(30)
        assert writer.exitcode == 0


def fill_then_produce(name, filled, outcome):
    ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
    with ring.producer() as producer:
        try:
            items.write(producer, 0)
            items.write(producer, 1)
            filled.set()
            began = time.monotonic()
            items.write(producer, 2, timeout=20)  # the lane is full: this waits
            outcome.put("wrote item 2")
        except conveyor.ConsumerGone:
            outcome.put("consumer gone after %.1f s" % (time.monotonic() - began))
        except conveyor.ConveyorError as error:
            outcome.put("%s: %s" % (type(error).__name__, error))


def test_a_producer_blocked_before_any_consumer_learns_of_the_one_that_registers():
    # The producer fills its lane and waits while the ring has no consumer at all; a consumer
    # then registers, takes an item and is killed holding it. The waiting producer must be told
    # (within the liveness grace), not sleep out its 20 s timeout.
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2, name=True) as ring:
        filled, started, outcome = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
        writer = SPAWN.Process(target=fill_then_produce, args=(ring.name, filled, outcome))
        writer.start()
        assert filled.wait(30)
        time.sleep(0.3)  # the writer is asleep in its wait now
        reader = SPAWN.Process(target=consume_slowly, args=(ring.name, started))
        reader.start()
        assert started.wait(30)
        os.kill(reader.pid, signal.SIGKILL)
        reader.join(10)
        result = outcome.get(timeout=60)
        assert result.startswith("consumer gone after"), result  # not TimedOut after 20 s
        writer.join(30)
        assert writer.exitcode == 0


def test_errors_say_what_happened():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2, name=True) as ring:
        with pytest.raises(conveyor.SchemaMismatch):
            conveyor.Ring.attach(name=ring.name, schema=[("f", "f32", (65,)), ("i", "i32", (4,))])
        with pytest.raises(conveyor.InvalidArgument, match="lane 3 does not exist"):
            ring.producer(lane=3)
        producer = ring.producer()
        with pytest.raises(conveyor.Unavailable):
            ring.producer()
        with pytest.raises(conveyor.ItemTooLarge):
            producer.put(np.zeros(65, np.float32), np.zeros(4, np.int32))
        producer.put(np.ones(2, np.float32), np.arange(4, dtype=np.int32))
        with ring.consumer() as consumer:
            with consumer.next(timeout=5) as lease:
                assert lease["f"].tolist() == [1.0, 1.0] and lease["i"].tolist() == [0, 1, 2, 3]
                with pytest.raises(ValueError):
                    lease["f"][0] = 2  # read-only
            # An idle live producer: ProducerStalled, or TimedOut naming it (Conveyor keeps "stalled" for
            # a stopped producer where it tells the two apart).
            with pytest.raises((conveyor.ProducerStalled, conveyor.TimedOut)) as stalled:
                consumer.next(timeout=0.05)
            assert str(os.getpid()) in str(stalled.value)
        producer.close()
        with pytest.raises(conveyor.Closed):
            producer.reserve(timeout=1)
        with pytest.raises(conveyor.ForeignSegment):
            with open("/dev/shm/conveyor-ring-%d-foreign" % os.getpid(), "wb") as junk:
                junk.write(b"x" * 4096)
            try:
                conveyor.Ring.attach(name="conveyor-ring-%d-foreign" % os.getpid())
            finally:
                os.unlink("/dev/shm/conveyor-ring-%d-foreign" % os.getpid())


def test_reset_empties_the_ring_for_everyone():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=4, name=True) as ring:
        producer = ring.producer()
        for k in range(3):
            items.write(producer, k)
        assert ring.info()["depth"] == 3
        ring.reset()
        info = ring.info()
        assert info["depth"] == 0 and info["lanes"][0]["discarded"] == 3 and info["resets"] == 1
        with pytest.raises(conveyor.RingReset):  # once, for a producer that had not seen the reset yet
            items.write(producer, 6)
        items.write(producer, 7)
        with ring.consumer() as consumer, consumer.next(timeout=5) as lease:
            assert items.check(lease) == 7
        producer.close()


def test_a_bad_handle_is_an_error_not_a_crash():
    from conveyor import _native
    with pytest.raises(conveyor.InvalidArgument, match="not open"):
        _native.call("conveyor_ring_reset", _native._u64(987654321))
    with pytest.raises(conveyor.InvalidArgument, match="is NULL"):
        _native.call("conveyor_ring_create", None, 1, 2, 0, None, None)
    with pytest.raises(conveyor.InvalidArgument, match="NaN"):
        with conveyor.Ring.create(items.SCHEMA) as ring, ring.consumer() as consumer:
            consumer.next(timeout=float("nan"))


def test_a_missing_library_says_what_to_run():
    environment = dict(os.environ, CONVEYOR_LIBRARY="/nonexistent/libConveyorC.so",
                       PYTHONPATH=os.path.dirname(os.path.dirname(conveyor.__file__)))
    child = subprocess.run([sys.executable, "-c", "import conveyor"], env=environment, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
    assert child.returncode != 0
    assert "LibraryNotFound" in child.stderr
    assert "swift build -c release --product ConveyorC" in child.stderr


def test_a_c_program_uses_the_header(tmp_path):
    """The header compiles as C, links with the library, and its error struct
    has the layout the Python binding assumes."""
    import ctypes
    import shutil
    from conveyor import _native
    compiler = shutil.which("cc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    from conftest import REPOSITORY
    program = str(tmp_path / "peer")
    library = os.path.dirname(_native.library_path)
    subprocess.check_call([compiler, "-std=c99", "-Wall", "-Werror", "-o", program,
                           os.path.join(os.path.dirname(__file__), "peer.c"),
                           "-I", os.path.join(REPOSITORY, "Sources", "ConveyorCABI", "include"),
                           "-L", library, "-lConveyorC", "-Wl,-rpath," + library])
    out = subprocess.run([program], stdout=subprocess.PIPE, universal_newlines=True, timeout=60).stdout
    Error = _native.Error
    assert ("layout %d 0 %d %d %d %d %d %d" % (
        ctypes.sizeof(Error), Error.pid.offset, Error.lane.offset, Error.index.offset, Error.system_errno.offset,
        Error.status.offset, Error.message.offset)) in out
    assert "item rows 3 values 7 8 9 capacity 16 lane 0" in out
    # ProducerStalled naming the producer (this C program, alive), or TimedOut where Conveyor keeps
    # "stalled" for a stopped producer.
    assert "empty code 13 pid-named 1" in out or "empty code 1 pid-named 0" in out
    assert "bad handle code 3: invalid argument: handle 12345 is not open" in out
    assert "abi 1" in out


def produce_and_finish(name, start, count):
    import conveyor
    ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
    with ring.producer() as producer:
        for k in range(start, start + count):
            items.write(producer, k)
        producer.finish()


def test_python_producers_that_finish_end_the_stream():
    with conveyor.Ring.create(items.SCHEMA, lanes=2, slots=4, name=True) as ring, ring.consumer() as consumer:
        workers = [SPAWN.Process(target=produce_and_finish, args=(ring.name, w * 1000, 300)) for w in range(2)]
        for worker in workers:
            worker.start()
        seen = [items.check(lease) for lease in consumer]  # ends by itself: every lane finished and drained
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0
        assert consumer.next(timeout=5) is None  # the end stays the end
        assert [lane["finished"] for lane in ring.info()["lanes"]] == [True, True]
    assert sorted(seen) == list(range(300)) + list(range(1000, 1300))


def test_finish_from_python_refuses_more_items():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=4) as ring, ring.producer() as producer:
        with ring.consumer() as consumer:
            items.write(producer, 7)
            reservation = producer.reserve(timeout=5)
            with pytest.raises(conveyor.InvalidArgument, match="commit or discard"):
                producer.finish()
            reservation.discard()
            producer.finish()
            producer.finish()  # twice is no error
            with pytest.raises(conveyor.Closed):
                producer.reserve(timeout=5)
            with consumer.next(timeout=5) as lease:
                assert items.check(lease) == 7
            assert consumer.next(timeout=5) is None


def test_swift_producers_that_finish_end_a_python_stream(helper):
    with conveyor.Ring.create(items.SCHEMA, lanes=2, slots=8, name=True) as ring, ring.consumer(ordered=True) as consumer:
        producers = [subprocess.Popen([helper, "produce", "--name", ring.name, "--lane", str(w), "--start",
                                       str(w * 5000), "--count", str(200 + 100 * w), "--finish"],
                                      stdout=subprocess.PIPE) for w in range(2)]
        seen = []
        while True:
            lease = consumer.next(timeout=30)
            if lease is None:
                break
            with lease:
                seen.append(items.check(lease))
        for producer in producers:
            assert producer.wait(30) == 0
    # Ordered while both lanes run, then the longer lane alone once the shorter one finished.
    assert seen[0:400:2] == list(range(200)) and seen[1:400:2] == list(range(5000, 5200))
    assert seen[400:] == list(range(5200, 5300))


def test_a_python_producer_that_exits_without_finishing_died():
    code = ("import os, sys, conveyor, items\n"
            "ring = conveyor.Ring.attach(name=sys.argv[1], schema=items.SCHEMA)\n"
            "producer = ring.producer()\n"
            "[items.write(producer, k) for k in range(20)]\n"
            "os._exit(0)  # the lane still claimed, not finished\n")
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=32, name=True) as ring, ring.consumer() as consumer:
        child = run_python("import sys; sys.path.insert(0, %r)\n" % os.path.dirname(__file__) + code, ring.name)
        assert child.wait(30) == 0, child.stderr.read()
        seen = []
        with pytest.raises(conveyor.ProducerDied) as died:
            while True:
                with consumer.next(timeout=10) as lease:
                    seen.append(items.check(lease))
    assert seen == list(range(20))
    assert died.value.pid == child.pid


def test_first_item_timeout_bounds_a_cold_boot_wait_for_a_producer_that_never_comes():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2) as ring:
        with ring.consumer(first_item_timeout=0.5) as consumer:
            started = time.monotonic()
            with pytest.raises(conveyor.TimedOut) as raised:
                consumer.next(timeout=0.01, cold_boot=True)
            waited = time.monotonic() - started
            # It waited out the first-item timeout (not the call's 0.01 s), and not the default 60 s.
            assert 0.45 <= waited < 30, waited
            assert "producer" in str(raised.value)
        # None lifts the bound: the call's own timeout applies, still without waiting forever here.
        with ring.consumer(first_item_timeout=None, spin_time=0) as consumer:
            started = time.monotonic()
            with pytest.raises(conveyor.TimedOut):
                consumer.next(timeout=0.3, cold_boot=False)
            assert time.monotonic() - started >= 0.25


def test_wait_settings_are_checked():
    with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=2) as ring:
        with pytest.raises(conveyor.InvalidArgument):
            ring.consumer(spin_time=5)
        with pytest.raises(conveyor.InvalidArgument):
            ring.producer(spin_time=-1)
        with ring.producer(first_consumer_timeout=0.3, spin_time=0) as producer:
            producer.put(*[np.zeros(field.shape, field.numpy_dtype) for field in ring.schema], timeout=5)
            producer.put(*[np.zeros(field.shape, field.numpy_dtype) for field in ring.schema], timeout=5)
            started = time.monotonic()
            # The lane is full and no consumer ever attached: the reserve gives up after the first-consumer timeout.
            with pytest.raises(conveyor.ConsumerGone):
                producer.put(*[np.zeros(field.shape, field.numpy_dtype) for field in ring.schema], timeout=30)
            assert 0.25 <= time.monotonic() - started < 25
