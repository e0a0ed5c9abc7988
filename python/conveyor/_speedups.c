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
typedef int32_t (*next_batch_hooked_function)(conveyor_batch *batch, const conveyor_wait_hooks *hooks);

/* conveyor_loader_next_batch_hooked's hooks: the GIL is let go of only to
 * wait (a batch already there is taken with it held, which costs less than
 * letting go of it and taking it back). */
static void let_go_of_the_gil(void *context) { *(PyThreadState **)context = PyEval_SaveThread(); }
static void take_the_gil_back(void *context) { PyEval_RestoreThread(*(PyThreadState **)context); }

/* What a batch at one place in memory is handed out as: `made` (made once,
 * never handed out itself when dicts are copied) and, when dicts are
 * copied, `handed`, the copy handed out last time. */
typedef struct {
    const void *address; /* the batch's first field */
    int64_t samples;
    PyObject *made;
    PyObject *handed;    /* NULL until a copy was handed out */
} Place;

/* Batches come from a few places (lanes x slots, or the copy buffers), in
 * turn: more than this many means memory is not being reused, and the
 * cache starts again. */
#define MAXIMUM_PLACES 1024

/* Epoch(function, batch, begin, make, fail, copy_dict, hooked): an iterator
 * over one epoch's batches, the loop of conveyor.loader.Loader._epoch in C.
 *
 * Before the first batch it calls begin(). Per batch it calls `hooked`
 * (conveyor_loader_next_batch_hooked, which lets go of the GIL only to
 * wait) on `batch`, or when `hooked` is 0 (an older library) `function`
 * (conveyor_loader_next_batch) without the GIL, and hands out
 * what make(samples) made for the batch's place in memory (the address of
 * its first field and its sample count), made once per place and kept.
 * With `copy_dict`, `made` is a dict and each batch gets a dict of its
 * own, equal to it: the one handed out for the place before when nobody
 * else holds it any more and it was not changed, else a new copy. It ends
 * at the epoch's end, and after an error, which fail() raises. */
typedef struct {
    PyObject_HEAD
    next_batch_function function;
    next_batch_hooked_function hooked; /* NULL: `function` without the GIL */
    conveyor_batch *batch;
    PyObject *begin;   /* called before the first batch, then NULL */
    PyObject *make;    /* make(samples) -> what a batch at a new place is handed out as */
    PyObject *fail;    /* fail() raises the error in the batch's error struct */
    int copy_dict;
    int ended;
    Place *places;     /* the places seen, in the order first seen */
    Py_ssize_t count;
    Py_ssize_t capacity;
    Py_ssize_t last;   /* where the last batch's place is in `places` */
} EpochObject;

static void forget_places(EpochObject *self) {
    for (Py_ssize_t i = 0; i < self->count; i++) {
        Py_CLEAR(self->places[i].made);
        Py_CLEAR(self->places[i].handed);
    }
    self->count = 0;
    self->last = 0;
}

static void epoch_dealloc(EpochObject *self) {
    forget_places(self);
    PyMem_Free(self->places);
    Py_XDECREF(self->begin);
    Py_XDECREF(self->make);
    Py_XDECREF(self->fail);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *epoch_new(PyTypeObject *type, PyObject *arguments, PyObject *keywords) {
    PyObject *function, *batch, *begin, *make, *fail, *hooked;
    int copy_dict;
    if (keywords != NULL && PyDict_GET_SIZE(keywords) != 0) {
        PyErr_SetString(PyExc_TypeError, "Epoch takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(arguments, "OOOOOpO", &function, &batch, &begin, &make, &fail, &copy_dict, &hooked)) return NULL;
    next_batch_function address = (next_batch_function)PyLong_AsVoidPtr(function);
    conveyor_batch *batch_address = (conveyor_batch *)PyLong_AsVoidPtr(batch);
    next_batch_hooked_function hooked_address = (next_batch_hooked_function)PyLong_AsVoidPtr(hooked);
    if (PyErr_Occurred()) return NULL;
    if (address == NULL || batch_address == NULL) {
        PyErr_SetString(PyExc_ValueError, "Epoch: a NULL address");
        return NULL;
    }
    EpochObject *self = (EpochObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->function = address;
    self->hooked = hooked_address;
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

/* The place of the batch just lent, found or made; NULL after an error. */
static Place *place_of_batch(EpochObject *self) {
    const void *address = self->batch->fields[0];
    int64_t samples = self->batch->samples;
    /* Batches visit their places in turn: the search starts after the last one found. */
    for (Py_ssize_t step = 0; step < self->count; step++) {
        Py_ssize_t i = self->last + 1 + step;
        if (i >= self->count) i -= self->count;
        if (self->places[i].address == address && self->places[i].samples == samples) {
            self->last = i;
            return &self->places[i];
        }
    }
    PyObject *made = PyObject_CallFunction(self->make, "L", (long long)samples);
    if (made == NULL) return NULL;
    if (self->copy_dict && !PyDict_CheckExact(made)) {
        Py_DECREF(made);
        PyErr_SetString(PyExc_TypeError, "Epoch: with copy_dict, make must return a dict");
        return NULL;
    }
    if (self->count == MAXIMUM_PLACES) forget_places(self);
    if (self->count == self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 16;
        Place *grown = PyMem_Realloc(self->places, (size_t)capacity * sizeof(Place));
        if (grown == NULL) {
            Py_DECREF(made);
            PyErr_NoMemory();
            return NULL;
        }
        self->places = grown;
        self->capacity = capacity;
    }
    Place *place = &self->places[self->count];
    place->address = address;
    place->samples = samples;
    place->made = made;
    place->handed = NULL;
    self->last = self->count++;
    return place;
}

/* Whether `handed` holds exactly `made`'s keys and values, in the same order. */
static int same_items(PyObject *handed, PyObject *made) {
    if (PyDict_GET_SIZE(handed) != PyDict_GET_SIZE(made)) return 0;
    Py_ssize_t i = 0, j = 0;
    PyObject *key, *value, *handed_key, *handed_value;
    while (PyDict_Next(made, &i, &key, &value)) {
        if (!PyDict_Next(handed, &j, &handed_key, &handed_value)) return 0;
        if (key != handed_key || value != handed_value) return 0;
    }
    return 1;
}

/* A dict equal to `place->made` that the caller may keep and change. */
static PyObject *dict_to_hand_out(Place *place) {
    PyObject *handed = place->handed;
#ifndef Py_GIL_DISABLED
    /* Held by the cache alone: whoever had it let it go, so it can be handed out again if it is unchanged. */
    if (handed != NULL && Py_REFCNT(handed) == 1 && PyDict_CheckExact(handed) && same_items(handed, place->made)) {
        Py_INCREF(handed);
        return handed;
    }
#endif
    Py_XDECREF(handed);
    place->handed = PyDict_Copy(place->made);
    if (place->handed == NULL) return NULL;
#ifdef Py_GIL_DISABLED
    PyObject *fresh = place->handed;
    place->handed = NULL; /* reference counts cannot say who holds a dict: a new copy every time */
    return fresh;
#else
    Py_INCREF(place->handed);
    return place->handed;
#endif
}

static PyObject *epoch_next(EpochObject *self) {
    if (self->begin != NULL) {
        PyObject *begin = self->begin;
        self->begin = NULL;
        PyObject *result = PyObject_CallObject(begin, NULL);
        Py_DECREF(begin);
        if (result == NULL) {
            self->ended = 1;
            return NULL;
        }
        Py_DECREF(result);
    }
    if (self->ended) return NULL;
    int32_t code;
    if (self->hooked != NULL) {
        PyThreadState *state = NULL;
        conveyor_wait_hooks hooks = {let_go_of_the_gil, take_the_gil_back, &state};
        code = self->hooked(self->batch, &hooks);
    } else {
        Py_BEGIN_ALLOW_THREADS
        code = self->function(self->batch);
        Py_END_ALLOW_THREADS
    }
    if (code != 0 || self->batch->samples == 0) {
        self->ended = 1;
        forget_places(self);
        if (code == 0) return NULL;  /* the epoch's end */
        PyObject *result = PyObject_CallObject(self->fail, NULL);
        Py_XDECREF(result);
        if (!PyErr_Occurred()) PyErr_Format(PyExc_RuntimeError, "conveyor_loader_next_batch failed (%d)", (int)code);
        return NULL;
    }
    Place *place = place_of_batch(self);
    if (place == NULL) return NULL;
    if (self->copy_dict) return dict_to_hand_out(place);
    Py_INCREF(place->made);
    return place->made;
}

static PyTypeObject EpochType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "conveyor._speedups.Epoch",
    .tp_basicsize = sizeof(EpochObject),
    .tp_dealloc = (destructor)epoch_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Epoch(function, batch, begin, make, fail, copy_dict, hooked): one epoch's batches (see _speedups.c).",
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
