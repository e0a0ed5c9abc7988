/*
 * Conveyor's C interface: shared-memory rings and data loaders for callers
 * in other languages (the Python package `conveyor` loads it with ctypes).
 * Everything here is implemented in Swift (Sources/ConveyorC) over the
 * public Conveyor API; the library is libConveyorC.so.
 *
 * Conventions:
 * - Every function returns 0 (CONVEYOR_OK) or an error code, and fills
 *   `*error` (which may be NULL) with the code and the ConveyorError text.
 *   Nothing aborts on bad input: a bad handle or argument is
 *   CONVEYOR_E_INVALID_ARGUMENT.
 * - Objects are handles (nonzero 64-bit numbers). conveyor_close ends any
 *   of them; a closed or unknown handle is an error, never a crash.
 * - Every wait takes `timeout_seconds`; a negative value waits without limit.
 * - Text results (JSON) are returned as malloc'd strings: free them with
 *   conveyor_free.
 * - A handle is used by one thread at a time.
 */
#ifndef CONVEYOR_H
#define CONVEYOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface. CONVEYOR_ABI_VERSION (conveyor_abi_version())
   changes when a function or struct changes or goes; CONVEYOR_ABI_MINOR
   (conveyor_abi_minor()) counts functions added since. A caller built against
   this header works with a library of the same version and a minor at least
   its own. Minor 1: conveyor_producer_finish. Minor 2: the waits' settings
   (conveyor_consumer_set_first_item_timeout, conveyor_consumer_set_spin_time,
   conveyor_producer_set_first_consumer_timeout, conveyor_producer_set_spin_time)
   and conveyor_loader_next_batch with struct conveyor_batch. Minor 3:
   conveyor_loader_next_batch_hooked with struct conveyor_wait_hooks. */
#define CONVEYOR_ABI_VERSION 1
#define CONVEYOR_ABI_MINOR 3

/* Error codes: one per ConveyorError case. */
enum {
    CONVEYOR_OK = 0,
    CONVEYOR_E_TIMED_OUT = 1,
    CONVEYOR_E_CLOSED = 2,
    CONVEYOR_E_INVALID_ARGUMENT = 3,
    CONVEYOR_E_SYSTEM_CALL = 4,
    CONVEYOR_E_SOURCE_FAILED = 5,
    CONVEYOR_E_INSUFFICIENT_SHARED_MEMORY = 6,
    CONVEYOR_E_FOREIGN_SEGMENT = 7,
    CONVEYOR_E_VERSION_MISMATCH = 8,
    CONVEYOR_E_SCHEMA_MISMATCH = 9,
    CONVEYOR_E_CORRUPT_SEGMENT = 10,
    CONVEYOR_E_ITEM_TOO_LARGE = 11,
    CONVEYOR_E_PRODUCER_DIED = 12,
    CONVEYOR_E_PRODUCER_STALLED = 13,
    CONVEYOR_E_CONSUMER_GONE = 14,
    CONVEYOR_E_RING_RESET = 15,
    CONVEYOR_E_WORKER_DIED = 16,
    CONVEYOR_E_UNAVAILABLE = 17,
    CONVEYOR_E_INVALID_FILE = 18,
    CONVEYOR_E_SEGMENT_TRUNCATED = 19  /* another process shrank the segment (where Conveyor detects it) */
};

/* An error: the code, the places it names, and its full description. */
typedef struct conveyor_error {
    int32_t code;          /* CONVEYOR_E_*, or CONVEYOR_OK */
    int32_t pid;           /* PRODUCER_DIED, PRODUCER_STALLED, WORKER_DIED: the process; else 0 */
    int64_t lane;          /* PRODUCER_DIED, PRODUCER_STALLED: the lane; WORKER_DIED, SOURCE_FAILED:
                              the worker; else -1 */
    int64_t index;         /* SOURCE_FAILED: the dataset index; else -1 */
    int32_t system_errno;  /* SYSTEM_CALL: errno; else 0 */
    int32_t reserved;
    char status[256];      /* PRODUCER_DIED, WORKER_DIED: how the process ended ("killed by signal 9 (SIGKILL)") */
    char message[1024];    /* what happened and what to do, UTF-8, NUL-terminated (may be cut short) */
} conveyor_error;

/* A ring, producer, consumer or loader. 0 is never a valid handle. */
typedef uint64_t conveyor_handle;

/* CONVEYOR_ABI_VERSION of the library loaded. */
int32_t conveyor_abi_version(void);
/* CONVEYOR_ABI_MINOR of the library loaded. */
int32_t conveyor_abi_minor(void);
/* Frees a string this library returned. */
void conveyor_free(char *text);
/* Ends a handle: a ring (its segment lives on while producers or consumers of
   it are open), a producer (frees its lane), a consumer (releases its leases),
   or a loader (stops its workers). */
int32_t conveyor_close(conveyor_handle handle, conveyor_error *error);

/* ---- Rings --------------------------------------------------------------
 * A schema is JSON: {"fields": [{"name": "image", "dtype": "f32", "shape": [1024]}, ...]}
 * with dtypes u8 i8 i16 u16 i32 u32 i64 u64 f16 f32 f64; shape[0] is the
 * field's maximum row count (an empty shape is one scalar).
 */

/* Creates a ring of `lanes` lanes of `slots_per_lane` slots. `named` 0: an
   anonymous memory file shared by inheriting its descriptor; 1: a segment in
   /dev/shm named `name` (NULL: a name nobody can guess). */
int32_t conveyor_ring_create(const char *schema_json, int32_t lanes, int32_t slots_per_lane, int32_t named,
                             const char *name, conveyor_handle *ring, conveyor_error *error);
/* Attaches to the ring behind an inherited descriptor (the caller keeps it).
   With `schema_json` (may be NULL) the ring must hold exactly that schema. */
int32_t conveyor_ring_attach_descriptor(int32_t descriptor, const char *schema_json, conveyor_handle *ring,
                                        conveyor_error *error);
/* Attaches to the named ring `name` (without "/dev/shm/"). */
int32_t conveyor_ring_attach_name(const char *name, const char *schema_json, conveyor_handle *ring,
                                  conveyor_error *error);
/* JSON: {"schema", "lanes", "slotsPerLane", "byteCount", "descriptor", "name" (or null)}. */
int32_t conveyor_ring_describe(conveyor_handle ring, char **json, conveyor_error *error);
/* JSON of the ring's state now (RingInfo's JSON, as `conveyor inspect --json` prints it): "depth",
   "capacity", "resets", "consumerPIDs", "byteCount", and per lane "lane", "producerPID" and
   "producerState" ("running", "stopped", "gone"; both absent while the lane is free), "depth",
   "capacity", "committed", "consumed", "discarded", "sinceClaimSeconds" (absent while free),
   "finished" (its producer called conveyor_producer_finish);
   "text" is the same as a few readable lines. */
int32_t conveyor_ring_info(conveyor_handle ring, char **json, conveyor_error *error);
/* Empties the ring for every process (items not yet taken are dropped). */
int32_t conveyor_ring_reset(conveyor_handle ring, conveyor_error *error);
/* Removes /dev/shm ring segments whose creator died; JSON array of the names removed. */
int32_t conveyor_remove_stale_segments(char **json, conveyor_error *error);

/* ---- Producers ---------------------------------------------------------- */

/* Claims lane `lane` (negative: the first free one) and sets `*claimed_lane`. */
int32_t conveyor_producer_open(conveyor_handle ring, int32_t lane, conveyor_handle *producer, int32_t *claimed_lane,
                               conveyor_error *error);
/* Reserves the lane's next slot, waiting while the lane is full. Fills, for
   each of the schema's `field_count` fields, `fields[i]` with a pointer into
   the slot and `capacities[i]` with its size in bytes (the maximum rows).
   The pointers are valid until the commit or discard. */
int32_t conveyor_producer_reserve(conveyor_handle producer, double timeout_seconds, int32_t field_count,
                                  void **fields, uint64_t *capacities, conveyor_error *error);
/* Publishes the reserved item; `rows[i]` is how many rows field i holds
   (0...maximum; `rows` NULL: every field full). A bad count publishes nothing. */
int32_t conveyor_producer_commit(conveyor_handle producer, int32_t field_count, const int64_t *rows,
                                 conveyor_error *error);
/* Gives the reserved slot back unpublished (nothing reserved: no effect). */
int32_t conveyor_producer_discard(conveyor_handle producer, conveyor_error *error);
/* Ends the lane's stream (RingProducer.finish): every item committed is still
   delivered, then consumers learn the lane is finished instead of waiting.
   Once every lane is finished and drained, conveyor_consumer_next returns
   CONVEYOR_E_CLOSED (the end of the stream). Later reserves are
   CONVEYOR_E_CLOSED; finishing twice is no error. INVALID_ARGUMENT while a
   slot is reserved; RING_RESET when a reset reopened the lane. Closing a
   producer without finishing frees its lane for another; a process that
   ends with its lane claimed and not finished is a death (PRODUCER_DIED). */
int32_t conveyor_producer_finish(conveyor_handle producer, conveyor_error *error);

/* How long a reserve waits for the ring's first consumer while the lane is
   full, before CONVEYOR_E_CONSUMER_GONE (RingProducer.firstConsumerTimeout;
   default 60 s; negative: as long as the ring's creator lives). Minor 2. */
int32_t conveyor_producer_set_first_consumer_timeout(conveyor_handle producer, double seconds, conveyor_error *error);
/* How long a reserve keeps re-checking a full lane before it sleeps
   (RingProducer.spinTime; default 50 µs; 0...1 s, 0: never spin). Minor 2. */
int32_t conveyor_producer_set_spin_time(conveyor_handle producer, double seconds, conveyor_error *error);

/* ---- Consumers ---------------------------------------------------------- */

/* Attaches a consumer; `ordered` 1 reads lanes round-robin, 0 whichever is ready. */
int32_t conveyor_consumer_open(conveyor_handle ring, int32_t ordered, conveyor_handle *consumer,
                               conveyor_error *error);
/* Leases the next item: `fields[i]` points at field i's data in the slot and
   `rows[i]` is how many rows it holds; `*lease` names the lease and
   `place[0]`, `place[1]` are the item's lane and position in it. With
   `cold_boot`, the wait for the consumer's first item has no limit. The
   pointers are valid until the lease is released. CONVEYOR_E_CLOSED: the
   end of the stream (every lane's producer finished and all was delivered). */
int32_t conveyor_consumer_next(conveyor_handle consumer, double timeout_seconds, int32_t cold_boot,
                               int32_t field_count, const void **fields, int64_t *rows, uint64_t *lease,
                               int64_t *place, conveyor_error *error);
/* The longest a cold-boot wait (cold_boot 1, before the consumer's first item)
   lasts when `timeout_seconds` is shorter (RingConsumer.firstItemTimeout;
   default 60 s; negative: no limit). It then fails as a plain wait does
   (CONVEYOR_E_TIMED_OUT when no producer ever came). Minor 2. */
int32_t conveyor_consumer_set_first_item_timeout(conveyor_handle consumer, double seconds, conveyor_error *error);
/* How long next keeps re-checking an empty ring before it sleeps
   (RingConsumer.spinTime; default 2 ms, adapting below it; 0...1 s, 0: never
   spin). Minor 2. */
int32_t conveyor_consumer_set_spin_time(conveyor_handle consumer, double seconds, conveyor_error *error);
/* Gives the leased slot back to its producer. */
int32_t conveyor_consumer_release(conveyor_handle consumer, uint64_t lease, conveyor_error *error);

/* ---- Loaders ------------------------------------------------------------
 * A DataLoader of a registered dataset description (built in:
 * "NumpyDataset" {"path", "field"}, "SyntheticImageDataset", "DirectoryDataset"),
 * with collated batches. The configuration is JSON with LoaderConfiguration's
 * fields: "batchSize" (required), "sampler" ("sequential", "shuffled",
 * {"indices": [...]}, {"distributed": {"rank", "worldSize", "shuffle", "remainder": "pad"|"drop"}}),
 * "dropLast", "workers" ("inline", {"threads": n}, {"processes": n}),
 * "prefetch", "delivery" ("ordered"|"unordered"), "seed", "batchTimeoutSeconds",
 * "label", "workerExecutable" (the program worker processes run: one whose
 * main calls WorkerProcess.bootstrap, such as the `conveyor` executable),
 * "inPlace": true or absent lends each batch where its worker wrote it (the
 * caller's thread holds the slot's lease until the release: nothing copied,
 * no other thread involved); false copies it out of its slot, on the
 * caller's thread, into buffers the loader reuses.
 *
 * Datasets of your own: build a dynamic library of your own package with the
 * product ConveyorCInterface (this interface) and your description types in
 * it, exporting `int32_t conveyor_register_datasets(void)` that registers
 * them (DatasetRegistry.register) and returns 0; a caller (the Python
 * package does) calls it once after loading. Worker processes then run your
 * program, whose main calls WorkerProcess.bootstrap(datasets: YourType.self).
 * python/examples/custom_dataset is such a package.
 * `state_json` (may be NULL): {"seed", "epoch", "nextBatch"} to resume from.
 */
int32_t conveyor_loader_start(const char *dataset_type, const char *dataset_json, const char *configuration_json,
                              const char *state_json, conveyor_handle *loader, conveyor_error *error);
/* JSON: {"schema" (one sample's fields), "datasetCount", "workerProcessIDs", "state"}. */
int32_t conveyor_loader_describe(conveyor_handle loader, char **json, conveyor_error *error);
/* Starts an iteration over one epoch (the next one, or the resumed one);
   an iteration still going is abandoned. */
int32_t conveyor_loader_begin_epoch(conveyor_handle loader, conveyor_error *error);
/* The iteration's next batch, lent (in place, or its copy) until
   conveyor_loader_release (or the next call, which releases it): `fields[i]` points at field i's
   bytes ([samples] + shape, row-major) and `byte_counts[i]` is their size;
   `batch[0..2]` = epoch, index in the epoch, samples. `*has_batch` is 0 at
   the epoch's end. An error (a failed sample, a dead worker, a batch not
   there within the configuration's "batchTimeoutSeconds") ends the epoch.
   `timeout_seconds` is not used (the configuration's timeout applies). */
int32_t conveyor_loader_next(conveyor_handle loader, double timeout_seconds, int32_t field_count,
                             const void **fields, uint64_t *byte_counts, int64_t *batch, int32_t *has_batch,
                             conveyor_error *error);
/* A batch as conveyor_loader_next_batch lends it. A caller makes one per
   loader, sets the members marked "in" once, and passes it for every batch:
   the call takes one argument and allocates nothing. Minor 2. */
typedef struct conveyor_batch {
    conveyor_handle loader;     /* in: the loader */
    int32_t field_count;        /* in: the schema's field count (the length of both arrays) */
    int32_t reserved;
    const void **fields;        /* in: an array of field_count; out: where each field's bytes are
                                   ([samples] + shape, row-major) */
    uint64_t *byte_counts;      /* in: an array of field_count; out: each field's size in bytes */
    conveyor_error *error;      /* in: filled when the call fails; may be NULL */
    int64_t epoch;              /* out: the batch's epoch */
    int64_t index;              /* out: its index in the epoch */
    int64_t samples;            /* out: its samples; 0 at the epoch's end (nothing is lent then) */
} conveyor_batch;

/* conveyor_loader_next in one argument: gives back the batch lent before and
   lends the iteration's next, as conveyor_loader_next does, filling `batch`
   (`samples` 0 at the epoch's end). Minor 2. */
int32_t conveyor_loader_next_batch(conveyor_batch *batch);
/* What conveyor_loader_next_batch_hooked calls around a wait, with `context`
   (each hook may be NULL): a caller that holds a lock others need while it
   waits (Python's interpreter lock) lets go of it in before_wait and takes
   it back in after_wait, and pays for that only when it waits. Minor 3. */
typedef struct conveyor_wait_hooks {
    void (*before_wait)(void *context);  /* the batch is not there yet: about to wait for it */
    void (*after_wait)(void *context);   /* the wait ended (a batch, the end, or an error) */
    void *context;
} conveyor_wait_hooks;
/* conveyor_loader_next_batch, calling `hooks` around its wait: a batch a
   worker process already wrote is lent at once, without a hook called; one
   not there yet is waited for between before_wait and after_wait (always
   both, in that order). Loaders that copy batches out (`"inPlace": false`)
   or have no worker processes call both hooks around every call. `hooks`
   NULL: conveyor_loader_next_batch. Minor 3. */
int32_t conveyor_loader_next_batch_hooked(conveyor_batch *batch, const conveyor_wait_hooks *hooks);
/* The rows each sample of the lent batch uses in field `field` (`capacity` >= samples). */
int32_t conveyor_loader_rows(conveyor_handle loader, int32_t field, int64_t *rows, int64_t capacity,
                             conveyor_error *error);
/* The dataset indices of the lent batch's samples (`capacity` >= samples). */
int32_t conveyor_loader_indices(conveyor_handle loader, int64_t *indices, int64_t capacity, conveyor_error *error);
/* Gives the lent batch back (its slot returns to its worker). */
int32_t conveyor_loader_release(conveyor_handle loader, conveyor_error *error);
/* JSON of the loader's state: {"seed", "epoch", "nextBatch"}; resume with it.
   A lent batch counts as delivered: the state resumes after it. */
int32_t conveyor_loader_state(conveyor_handle loader, char **json, conveyor_error *error);

#ifdef __cplusplus
}
#endif

#endif /* CONVEYOR_H */
