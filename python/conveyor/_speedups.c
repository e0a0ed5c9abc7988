/* conveyor._speedups: the loader's per-batch loop without ctypes.
 *
 * A ctypes call costs about 2,000 instructions (argument conversion, libffi),
 * as much as a third of what a whole batch costs on the Python side; this
 * module makes the same call, conveyor_loader_next_batch, in a few hundred,
 * and runs the rest of the loop (the cache of what each place in memory is
 * handed out as) in C too.
 * It is optional: when it was not built (no C compiler at install time),
 * conveyor.loader makes the call through ctypes instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "conveyor.h"

typedef int32_t (*next_batch_function)(conveyor_batch *batch);

/* Epoch(function, batch, begin, make, fail, copy_dict): an iterator over one
 * epoch's batches, the loop of conveyor.loader.Loader._epoch in C.
 *
 * Before the first batch it calls begin(). Per batch it calls `function`
 * (conveyor_loader_next_batch) on `batch` without the GIL and hands out
 * what make(samples) made for the batch's place in memory (the address of
 * its first field and its sample count), made once per place and kept
 * (a copy of it when `copy_dict`: a loop may change its dict). It ends at
 * the epoch's end, and after an error, which fail() raises. */
typedef struct {
    PyObject_HEAD
    next_batch_function function;
    conveyor_batch *batch;
    PyObject *begin;   /* called before the first batch, then NULL */
    PyObject *make;    /* make(samples) -> what a batch at a new place is handed out as */
    PyObject *fail;    /* fail() raises the error in the batch's error struct */
    int copy_dict;
    PyObject *places;  /* {address of field 0: (samples, made)}; NULL once the epoch ended */
} EpochObject;

static void epoch_dealloc(EpochObject *self) {
    Py_XDECREF(self->begin);
    Py_XDECREF(self->make);
    Py_XDECREF(self->fail);
    Py_XDECREF(self->places);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *epoch_new(PyTypeObject *type, PyObject *arguments, PyObject *keywords) {
    PyObject *function, *batch, *begin, *make, *fail;
    int copy_dict;
    if (keywords != NULL && PyDict_GET_SIZE(keywords) != 0) {
        PyErr_SetString(PyExc_TypeError, "Epoch takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(arguments, "OOOOOp", &function, &batch, &begin, &make, &fail, &copy_dict)) return NULL;
    next_batch_function address = (next_batch_function)PyLong_AsVoidPtr(function);
    conveyor_batch *batch_address = (conveyor_batch *)PyLong_AsVoidPtr(batch);
    if (PyErr_Occurred()) return NULL;
    if (address == NULL || batch_address == NULL) {
        PyErr_SetString(PyExc_ValueError, "Epoch: a NULL address");
        return NULL;
    }
    EpochObject *self = (EpochObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->places = PyDict_New();
    if (self->places == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->function = address;
    self->batch = batch_address;
    Py_INCREF(begin);
    self->begin = begin;
    Py_INCREF(make);
    self->make = make;
    Py_INCREF(fail);
    self->fail = fail;
    self->copy_dict = copy_dict;
    return (PyObject *)self;
}

static PyObject *epoch_next(EpochObject *self) {
    if (self->begin != NULL) {
        PyObject *begin = self->begin;
        self->begin = NULL;
        PyObject *result = PyObject_CallObject(begin, NULL);
        Py_DECREF(begin);
        if (result == NULL) {
            Py_CLEAR(self->places);
            return NULL;
        }
        Py_DECREF(result);
    }
    if (self->places == NULL) return NULL;
    int32_t code;
    Py_BEGIN_ALLOW_THREADS
    code = self->function(self->batch);
    Py_END_ALLOW_THREADS
    if (code != 0 || self->batch->samples == 0) {
        Py_CLEAR(self->places);
        if (code == 0) return NULL;  /* the epoch's end */
        PyObject *result = PyObject_CallObject(self->fail, NULL);
        Py_XDECREF(result);
        if (!PyErr_Occurred()) PyErr_Format(PyExc_RuntimeError, "conveyor_loader_next_batch failed (%d)", (int)code);
        return NULL;
    }
    long long samples = (long long)self->batch->samples;
    PyObject *key = PyLong_FromVoidPtr((void *)self->batch->fields[0]);
    if (key == NULL) return NULL;
    PyObject *entry = PyDict_GetItemWithError(self->places, key); /* borrowed */
    PyObject *made = NULL;                                         /* borrowed from the entry */
    if (entry != NULL && PyTuple_Check(entry) && PyTuple_GET_SIZE(entry) == 2
        && PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 0)) == samples) {
        made = PyTuple_GET_ITEM(entry, 1);
    } else {
        if (PyErr_Occurred()) {
            Py_DECREF(key);
            return NULL;
        }
        PyObject *fresh = PyObject_CallFunction(self->make, "L", samples);
        if (fresh == NULL) {
            Py_DECREF(key);
            return NULL;
        }
        if (PyDict_GET_SIZE(self->places) > 1024) PyDict_Clear(self->places);
        entry = Py_BuildValue("(LN)", samples, fresh); /* steals fresh */
        if (entry == NULL || PyDict_SetItem(self->places, key, entry) < 0) {
            Py_XDECREF(entry);
            Py_DECREF(key);
            return NULL;
        }
        Py_DECREF(entry); /* the dict holds it */
        made = PyTuple_GET_ITEM(entry, 1);
    }
    Py_DECREF(key);
    if (self->copy_dict) return PyDict_Copy(made);
    Py_INCREF(made);
    return made;
}

static PyTypeObject EpochType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "conveyor._speedups.Epoch",
    .tp_basicsize = sizeof(EpochObject),
    .tp_dealloc = (destructor)epoch_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Epoch(function, batch, begin, make, fail, copy_dict): one epoch's batches (see _speedups.c).",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)epoch_next,
    .tp_new = epoch_new,
};

static PyMethodDef methods[] = {
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "conveyor._speedups", "The loader's per-batch loop without ctypes.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    if (PyType_Ready(&EpochType) < 0) return NULL;
    PyObject *made = PyModule_Create(&module);
    if (made == NULL) return NULL;
    Py_INCREF(&EpochType);
    if (PyModule_AddObject(made, "Epoch", (PyObject *)&EpochType) < 0) {
        Py_DECREF(&EpochType);
        Py_DECREF(made);
        return NULL;
    }
    return made;
}
