"""Item schemas: named, typed fields whose first dimension may vary per item."""

import collections
import json

import numpy as np

#: The dtype codes of Conveyor's schema and their NumPy types.
DTYPES = {
    "u8": np.uint8, "i8": np.int8, "i16": np.int16, "u16": np.uint16, "i32": np.int32, "u32": np.uint32,
    "i64": np.int64, "u64": np.uint64, "f16": np.float16, "f32": np.float32, "f64": np.float64,
}
_CODES = {np.dtype(numpy_type): code for code, numpy_type in DTYPES.items()}


class Field(collections.namedtuple("Field", "name dtype shape")):
    """One field: ``name``, ``dtype`` (a code such as "f32") and ``shape``
    (``shape[0]`` is the maximum row count; ``()`` is one scalar)."""

    __slots__ = ()

    @property
    def numpy_dtype(self):
        return np.dtype(DTYPES[self.dtype])

    @property
    def max_rows(self):
        return self.shape[0] if self.shape else 1

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.numpy_dtype.itemsize


def dtype_code(dtype):
    """The schema code of ``dtype`` ("f32", "float32", np.float32, ...)."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    try:
        return _CODES[np.dtype(dtype)]
    except (TypeError, KeyError):
        raise ValueError("dtype %r is not one Conveyor carries; use one of %s" % (dtype, ", ".join(DTYPES))) from None


def make_schema(fields):
    """A tuple of Fields from Fields, ``(name, dtype, shape)`` tuples, or a
    dict ``{name: (dtype, shape)}``."""
    if isinstance(fields, dict):
        fields = [(name,) + tuple(spec) for name, spec in fields.items()]
    schema = []
    for field in fields:
        name, dtype, shape = field
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(d) for d in shape)
        schema.append(Field(str(name), dtype_code(dtype), shape))
    return tuple(schema)


def schema_json(schema):
    """The C interface's JSON form of a schema."""
    return json.dumps({"fields": [{"name": f.name, "dtype": f.dtype, "shape": list(f.shape)} for f in schema]})


def from_json(document):
    """A schema from the C interface's JSON form (already decoded)."""
    return tuple(Field(f["name"], f["dtype"], tuple(f["shape"])) for f in document["fields"])
