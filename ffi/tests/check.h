/* Assertions for the C tests of the IDEA C ABI: on failure they print where, the result's name and the
 * library's last error, and exit with status 1. */
#ifndef IDEA_TEST_CHECK_H
#define IDEA_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idea.h"

static void check_report(const char *file, int line, const char *what, IdeaResult got) {
    char message[512];
    size_t len = 0;
    if (idea_last_error(message, sizeof message, &len) != IDEA_RESULT_OK) {
        strcpy(message, "(the last error does not fit)");
    }
    fprintf(stderr, "%s:%d: %s gave %s; last error: %s\n", file, line, what, idea_result_name(got), message);
    exit(1);
}

/* The call must succeed. */
#define CHECK_OK(call)                                                                                         \
    do {                                                                                                       \
        IdeaResult check_result_ = (call);                                                                     \
        if (check_result_ != IDEA_RESULT_OK) check_report(__FILE__, __LINE__, #call, check_result_);         \
    } while (0)

/* The call must fail with exactly `expected`. */
#define CHECK_FAILS(call, expected)                                                                            \
    do {                                                                                                       \
        IdeaResult check_result_ = (call);                                                                     \
        if (check_result_ != (IdeaResult)(expected)) {                                                         \
            fprintf(stderr, "%s:%d: %s: expected %s\n", __FILE__, __LINE__, #call,                             \
                    idea_result_name((uint32_t)(expected)));                                                   \
            check_report(__FILE__, __LINE__, #call, check_result_);                                            \
        }                                                                                                      \
    } while (0)

/* A condition that must hold. */
#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                           \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

/* The thread's last error must contain `needle`. */
#define CHECK_LAST_ERROR_HAS(needle)                                                                           \
    do {                                                                                                       \
        char check_message_[512];                                                                              \
        size_t check_len_ = 0;                                                                                 \
        CHECK_OK(idea_last_error(check_message_, sizeof check_message_, &check_len_));                         \
        if (strstr(check_message_, (needle)) == NULL) {                                                        \
            fprintf(stderr, "%s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, check_message_,     \
                    (needle));                                                                                 \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

#endif
