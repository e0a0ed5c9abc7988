/* A C caller of include/conveyor.h: the test compiles it against the header
   and the library, and runs it. It prints the error struct's layout (which
   the Python binding must match), then a ring round trip and a bad call. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conveyor.h"

int main(void) {
    printf("layout %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(conveyor_error), offsetof(conveyor_error, code),
           offsetof(conveyor_error, pid), offsetof(conveyor_error, lane), offsetof(conveyor_error, index),
           offsetof(conveyor_error, system_errno), offsetof(conveyor_error, status),
           offsetof(conveyor_error, message));
    conveyor_error error;
    conveyor_handle ring = 0, producer = 0, consumer = 0;
    const char *schema = "{\"fields\": [{\"name\": \"x\", \"dtype\": \"i32\", \"shape\": [4]}]}";
    if (conveyor_ring_create(schema, 1, 2, 0, NULL, &ring, &error) != CONVEYOR_OK) return printf("%s\n", error.message), 1;
    int32_t lane = -1;
    if (conveyor_producer_open(ring, -1, &producer, &lane, &error)) return printf("%s\n", error.message), 1;
    if (conveyor_consumer_open(ring, 0, &consumer, &error)) return printf("%s\n", error.message), 1;
    void *field = NULL;
    uint64_t capacity = 0;
    if (conveyor_producer_reserve(producer, 1.0, 1, &field, &capacity, &error)) return printf("%s\n", error.message), 1;
    int32_t values[4] = {7, 8, 9, 10};
    memcpy(field, values, sizeof values);
    int64_t rows = 3;
    if (conveyor_producer_commit(producer, 1, &rows, &error)) return printf("%s\n", error.message), 1;
    const void *item = NULL;
    int64_t item_rows = 0, place[2];
    uint64_t lease = 0;
    if (conveyor_consumer_next(consumer, 1.0, 0, 1, &item, &item_rows, &lease, place, &error))
        return printf("%s\n", error.message), 1;
    const int32_t *got = item;
    printf("item rows %lld values %d %d %d capacity %llu lane %lld\n", (long long)item_rows, got[0], got[1], got[2],
           (unsigned long long)capacity, (long long)place[0]);
    conveyor_consumer_release(consumer, lease, &error);
    int32_t code = conveyor_consumer_next(consumer, 0.01, 0, 1, &item, &item_rows, &lease, place, &error);
    printf("empty code %d pid-named %d\n", code, error.pid > 0);
    code = conveyor_close(12345, &error);
    printf("bad handle code %d: %s\n", code, error.message);
    conveyor_close(consumer, NULL);
    conveyor_close(producer, NULL);
    conveyor_close(ring, NULL);
    printf("abi %d\n", conveyor_abi_version());
    return 0;
}
