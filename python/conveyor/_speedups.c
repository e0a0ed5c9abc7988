/* conveyor._speedups: the loader's per-batch call without ctypes.
 *
 * A ctypes call costs about 2,000 instructions (argument conversion, libffi),
 * as much as a third of what a whole batch costs on the Python side; this
 * module makes the same call, conveyor_loader_next_batch, in a few hundred.
 * It is optional: when it was not built (no C compiler at install time),
 * conveyor.loader makes the call through ctypes instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "conveyor.h"

typedef int32_t (*next_batch_function)(conveyor_batch *batch);

/* next_batch(function, batch) -> int
 *
 * `function` is the address of conveyor_loader_next_batch and `batch` the
 * address of a conveyor_batch (both from ctypes). Calls it without holding
 * the GIL (it may wait for a worker) and returns the batch's sample count
 * (0 at the epoch's end), or minus the error code when it failed (the
 * batch's error struct says what happened). */
static PyObject *next_batch(PyObject *module, PyObject *const *arguments, Py_ssize_t count) {
    (void)module;
    if (count != 2) {
        PyErr_SetString(PyExc_TypeError, "next_batch(function, batch) takes two addresses");
        return NULL;
    }
    next_batch_function function = (next_batch_function)PyLong_AsVoidPtr(arguments[0]);
    conveyor_batch *batch = (conveyor_batch *)PyLong_AsVoidPtr(arguments[1]);
    if (PyErr_Occurred()) return NULL;
    if (function == NULL || batch == NULL) {
        PyErr_SetString(PyExc_ValueError, "next_batch: a NULL address");
        return NULL;
    }
    int32_t code;
    Py_BEGIN_ALLOW_THREADS
    code = function(batch);
    Py_END_ALLOW_THREADS
    return PyLong_FromLongLong(code != 0 ? -(long long)code : (long long)batch->samples);
}

static PyMethodDef methods[] = {
    {"next_batch", (PyCFunction)(void (*)(void))next_batch, METH_FASTCALL,
     "next_batch(function, batch): conveyor_loader_next_batch(batch) without ctypes; samples, 0 at the end, "
     "or minus the error code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "conveyor._speedups", "The loader's per-batch call without ctypes.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
