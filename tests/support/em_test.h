/* Support for Ember's cmocka tests: includes, a seeded generator, the
 * leak check every case ends with, and the out-of-memory sweep. */
#ifndef EMBER_TESTS_SUPPORT_EM_TEST_H
#define EMBER_TESTS_SUPPORT_EM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ember.h"

/* A small deterministic generator (splitmix64). */
typedef struct em_test_rng {
    uint64_t s;
} em_test_rng;

uint64_t em_test_next(em_test_rng *r);
/* Uniform in [0, n). */
uint64_t em_test_below(em_test_rng *r, uint64_t n);

/* cmocka setup/teardown that check no bytes are outstanding in the
 * allocation wrapper at the end of a case. */
int em_test_setup(void **state);
int em_test_teardown(void **state);

/* Structural identity: same types, kinds, lengths and contents, floats
 * bit for bit (stricter than em_val_eq, which equates 1 and 1.0, or 0.0
 * and -0.0). */
bool em_test_identical(em_val a, em_val b);

/* Fails the test with both values formatted unless they are identical. */
void em_test_expect_identical(em_val got, em_val want, const char *what);

#define EM_TEST(f) cmocka_unit_test_setup_teardown(f, em_test_setup, \
                                                   em_test_teardown)

/* Asserts a call returned EM_OK, printing em_last_error() otherwise. */
#define EM_CHECK(call)                                                         \
    do {                                                                       \
        em_status st_ = (call);                                                \
        if (st_ != EM_OK)                                                      \
            fail_msg("%s -> %s: %s", #call, em_status_name(st_),               \
                     em_last_error());                                         \
    } while (0)

/* The out-of-memory sweep: runs fn(arg) with the allocation wrapper failing
 * after 0, 1, 2, ... allocations until fn returns EM_OK. Each failing run
 * must return EM_ENOMEM (or the status fn maps it to) and leave no bytes
 * outstanding beyond `baseline`. Returns the number of failing runs. */
typedef em_status (*em_test_oom_fn)(void *arg);
int em_test_oom_sweep(em_test_oom_fn fn, void *arg, int64_t max_runs);

/* A context for master (NULL: local[2]), progress off; fails the test when
 * creation fails. */
em_ctx *em_test_ctx(const char *master);

/* A temporary directory made fresh for the test; returns its path in buf. */
void em_test_tmpdir(char *buf, size_t cap);

/* Removes a directory tree (for cleanup). */
void em_test_rmtree(const char *path);

/* Runs scripts/fetch-data.sh for the data set `set` (real-data tests),
 * leaving the printed path in path. False, with "SKIP:" and the reason
 * printed, when the data cannot be fetched: the caller then skips. */
bool em_test_fetch(const char *set, char *path, size_t cap);

#endif /* EMBER_TESTS_SUPPORT_EM_TEST_H */
