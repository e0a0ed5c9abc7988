"""Loads libConveyorC.so (the C interface of include/conveyor.h) with ctypes.

Where the library is looked for, in order:
1. ``$CONVEYOR_LIBRARY`` (a path to libConveyorC.so): when set, only there;
2. the copy ``pip install`` put in this package (``conveyor/_lib``);
3. a repository checkout this package sits in: ``.build/release``, then ``.build/debug``.
"""

import ctypes
import json
import os

from . import errors

ABI_VERSION = 1
#: The C interface's minor version this package needs at least (1: conveyor_producer_finish; 2: the waits'
#: settings and conveyor_loader_next_batch). Minor 3's conveyor_loader_next_batch_hooked is used when there.
ABI_MINOR = 2
LIBRARY_NAME = "libConveyorC.so"
_HERE = os.path.dirname(os.path.abspath(__file__))
_REPOSITORY = os.path.dirname(os.path.dirname(_HERE))


class Error(ctypes.Structure):
    """``conveyor_error``."""
    _fields_ = [
        ("code", ctypes.c_int32),
        ("pid", ctypes.c_int32),
        ("lane", ctypes.c_int64),
        ("index", ctypes.c_int64),
        ("system_errno", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("status", ctypes.c_char * 256),
        ("message", ctypes.c_char * 1024),
    ]


class Batch(ctypes.Structure):
    """``conveyor_batch``: what ``conveyor_loader_next_batch`` fills (made once per loader)."""
    _fields_ = [
        ("loader", ctypes.c_uint64),
        ("field_count", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("fields", ctypes.POINTER(ctypes.c_void_p)),
        ("byte_counts", ctypes.POINTER(ctypes.c_uint64)),
        ("error", ctypes.POINTER(Error)),
        ("epoch", ctypes.c_int64),
        ("index", ctypes.c_int64),
        ("samples", ctypes.c_int64),
    ]


def candidates():
    """The paths tried for the library, in order."""
    if os.environ.get("CONVEYOR_LIBRARY"):
        return [os.environ["CONVEYOR_LIBRARY"]]
    paths = []
    paths.append(os.path.join(_HERE, "_lib", LIBRARY_NAME))
    for configuration in ("release", "debug"):
        paths.append(os.path.join(_REPOSITORY, ".build", configuration, LIBRARY_NAME))
    return paths


def _load():
    tried = []
    for path in candidates():
        if not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append("%s (%s)" % (path, error))
    raise errors.LibraryNotFound(
        "the Conveyor library was not found; tried: " + "; ".join(tried)
        + ". Build it with `swift build -c release --product ConveyorC` in the Conveyor repository and set "
        "CONVEYOR_LIBRARY to .build/release/libConveyorC.so, or install this package with `pip install ./python` "
        "(which builds it).")


lib, library_path = _load()

_u64 = ctypes.c_uint64
_i32 = ctypes.c_int32
_i64 = ctypes.c_int64
_dbl = ctypes.c_double
_str = ctypes.c_char_p
_ptr = ctypes.c_void_p
_err = ctypes.POINTER(Error)
_P = ctypes.POINTER

_SIGNATURES = {
    "conveyor_abi_version": ([], _i32),
    "conveyor_abi_minor": ([], _i32),
    "conveyor_free": ([_ptr], None),
    "conveyor_close": ([_u64, _err], _i32),
    "conveyor_ring_create": ([_str, _i32, _i32, _i32, _str, _P(_u64), _err], _i32),
    "conveyor_ring_attach_descriptor": ([_i32, _str, _P(_u64), _err], _i32),
    "conveyor_ring_attach_name": ([_str, _str, _P(_u64), _err], _i32),
    "conveyor_ring_describe": ([_u64, _P(_ptr), _err], _i32),
    "conveyor_ring_info": ([_u64, _P(_ptr), _err], _i32),
    "conveyor_ring_reset": ([_u64, _err], _i32),
    "conveyor_remove_stale_segments": ([_P(_ptr), _err], _i32),
    "conveyor_producer_open": ([_u64, _i32, _P(_u64), _P(_i32), _err], _i32),
    "conveyor_producer_reserve": ([_u64, _dbl, _i32, _P(_ptr), _P(_u64), _err], _i32),
    "conveyor_producer_commit": ([_u64, _i32, _P(_i64), _err], _i32),
    "conveyor_producer_discard": ([_u64, _err], _i32),
    "conveyor_producer_finish": ([_u64, _err], _i32),
    "conveyor_consumer_open": ([_u64, _i32, _P(_u64), _err], _i32),
    "conveyor_consumer_next": ([_u64, _dbl, _i32, _i32, _P(_ptr), _P(_i64), _P(_u64), _P(_i64), _err], _i32),
    "conveyor_consumer_release": ([_u64, _u64, _err], _i32),
    "conveyor_consumer_set_first_item_timeout": ([_u64, _dbl, _err], _i32),
    "conveyor_consumer_set_spin_time": ([_u64, _dbl, _err], _i32),
    "conveyor_producer_set_first_consumer_timeout": ([_u64, _dbl, _err], _i32),
    "conveyor_producer_set_spin_time": ([_u64, _dbl, _err], _i32),
    "conveyor_loader_start": ([_str, _str, _str, _str, _P(_u64), _err], _i32),
    "conveyor_loader_describe": ([_u64, _P(_ptr), _err], _i32),
    "conveyor_loader_begin_epoch": ([_u64, _err], _i32),
    "conveyor_loader_next": ([_u64, _dbl, _i32, _P(_ptr), _P(_u64), _P(_i64), _P(_i32), _err], _i32),
    "conveyor_loader_next_batch": ([_P(Batch)], _i32),
    "conveyor_loader_rows": ([_u64, _i32, _P(_i64), _i64, _err], _i32),
    "conveyor_loader_indices": ([_u64, _P(_i64), _i64, _err], _i32),
    "conveyor_loader_release": ([_u64, _err], _i32),
    "conveyor_loader_state": ([_u64, _P(_ptr), _err], _i32),
}

#: Calls that never wait: made without releasing the GIL (cheaper), through `fast`.
_NEVER_WAIT = {
    "conveyor_abi_version", "conveyor_abi_minor", "conveyor_free", "conveyor_ring_describe", "conveyor_ring_info",
    "conveyor_ring_reset", "conveyor_producer_commit", "conveyor_producer_discard", "conveyor_producer_finish",
    "conveyor_consumer_release", "conveyor_loader_describe",
    "conveyor_loader_rows", "conveyor_loader_indices", "conveyor_loader_state",
    "conveyor_consumer_set_first_item_timeout", "conveyor_consumer_set_spin_time",
    "conveyor_producer_set_first_consumer_timeout", "conveyor_producer_set_spin_time",
}
fast = ctypes.PyDLL(library_path)
_bare = ctypes.CDLL(library_path)


def bare(name):
    """Function ``name`` without argtypes (returning int32), for a hot loop that
    passes ctypes objects it made once: ctypes then converts nothing per call."""
    function = _bare[name]
    function.restype = _i32
    return function

if not hasattr(lib, "conveyor_abi_minor") or lib.conveyor_abi_version() != ABI_VERSION \
        or lib.conveyor_abi_minor() < ABI_MINOR:
    raise errors.LibraryNotFound(
        "%s is an older or other build of the C interface (this package needs version %d.%d or a later minor); "
        "rebuild the library from the same checkout" % (library_path, ABI_VERSION, ABI_MINOR))

for _name, (_arguments, _result) in _SIGNATURES.items():
    for _library in (lib, fast):
        _function = getattr(_library, _name)
        _function.argtypes = _arguments
        _function.restype = _result

# A library of your own that embeds the interface registers its dataset description types here.
if hasattr(lib, "conveyor_register_datasets"):
    lib.conveyor_register_datasets.restype = _i32
    if lib.conveyor_register_datasets() != 0:
        raise errors.InvalidArgument("%s: conveyor_register_datasets failed (a type name is taken twice?)"
                                     % library_path)


try:
    from . import _speedups
except ImportError:  # built without a C compiler: the loader's loop in Python, through ctypes
    _speedups = None


def next_batch_call(batch):
    """``(call, function, batch_address)``: ``call(function, batch_address)``
    calls ``conveyor_loader_next_batch(batch)`` through ctypes (``batch`` a
    ``Batch`` the caller keeps alive) and returns the batch's sample count,
    0 at the epoch's end, or minus the error code (``batch.error`` then holds
    the error). ``function`` and ``batch_address`` are what
    conveyor._speedups.Epoch takes to make the same call in C."""
    function = _bare["conveyor_loader_next_batch"]
    function.restype = _i32
    argument = ctypes.byref(batch)

    def call_through_ctypes(_function, _batch):
        code = function(argument)
        return -code if code else batch.samples
    return call_through_ctypes, ctypes.cast(function, ctypes.c_void_p).value, ctypes.addressof(batch)


def next_batch_hooked_address():
    """The address of ``conveyor_loader_next_batch_hooked`` (minor 3: lets
    go of the GIL only when a batch must be waited for), or 0 when the
    library is older; conveyor._speedups.Epoch calls it in C."""
    try:
        return ctypes.cast(_bare["conveyor_loader_next_batch_hooked"], ctypes.c_void_p).value
    except AttributeError:
        return 0


def exception(error):
    """The Python exception for a filled ``conveyor_error``."""
    cls = errors.BY_CODE.get(error.code, errors.ConveyorError)
    message = error.message.decode("utf-8", "replace")
    return cls(message,
               pid=error.pid or None,
               lane=error.lane if error.lane >= 0 else None,
               index=error.index if error.index >= 0 else None,
               status=error.status.decode("utf-8", "replace") or None,
               errno=error.system_errno or None)


def check(code, error):
    """Raises the exception for a non-zero return code."""
    if code != 0:
        raise exception(error)


def call(name, *arguments):
    """Calls ``name`` with a fresh error struct, raising on failure."""
    error = Error()
    check(getattr(fast if name in _NEVER_WAIT else lib, name)(*arguments, ctypes.byref(error)), error)


def call_json(name, *arguments):
    """Calls ``name`` (whose last argument before the error is a ``char **``) and decodes its JSON."""
    text = ctypes.c_void_p()
    call(name, *arguments, ctypes.byref(text))
    try:
        return json.loads(ctypes.string_at(text.value).decode("utf-8"))
    finally:
        lib.conveyor_free(text)


def encode(text):
    """A str as the C interface's UTF-8, or None."""
    return None if text is None else text.encode("utf-8")


class Handle:
    """One open handle of the C interface, closed when this object goes (or
    on ``close``), in the process that opened it only: a forked child only
    inherited a copy. Arrays over memory the handle keeps mapped refer to
    this object, not to their Python owner, so no reference cycle delays
    the close."""

    __slots__ = ("value", "pid", "__weakref__")

    def __init__(self, value):
        self.value = value
        self.pid = os.getpid()

    def close(self):
        value, self.value = self.value, None
        if value is not None and self.pid == os.getpid():
            call("conveyor_close", _u64(value))

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class HandleOwner:
    """A Python object over one handle (``Handle``): ``close``, or leaving a
    ``with`` block, or dropping it and every array it gave out, ends it."""

    _life = None
    #: What the handle is, for "the producer is closed".
    kind = "object"

    def _own(self, handle):
        self._life = Handle(handle)

    @property
    def _handle(self):
        return None if self._life is None else self._life.value

    def _checked(self):
        """The handle, or Closed when it was closed."""
        value = self._handle
        if value is None:
            raise errors.Closed("the %s is closed" % self.kind)
        return value

    def close(self):
        """Ends the handle (in the process that opened it). Arrays it gave out must not be used after this."""
        if self._life is not None:
            self._life.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
