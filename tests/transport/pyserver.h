/*
 * Runs tests/transport/tls_server.py as a child process: one connection,
 * then a report of what the server saw (see the script's docstring).
 */
#ifndef MAILOUT_TEST_PYSERVER_H
#define MAILOUT_TEST_PYSERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct pyserver {
    pid_t pid;
    int out; /* read end of the child's stdout */
    uint16_t port;
    char report[1 << 20];
    size_t report_len;
} pyserver;

/* Start the server with the given arguments (NULL-terminated) and read
 * its port. Fails the test if it does not come up within 10 s. */
void pyserver_start(pyserver *ps, const char *const *args);

/* Read the report until END (bounded: 15 s, then the child is killed)
 * and reap the child. */
void pyserver_finish(pyserver *ps);

/* The value of report line "KEY value" ("" if absent), in a static buffer. */
const char *pyserver_get(const pyserver *ps, const char *key);

/* Decode a hex value into buf; returns the length ("-" is empty). */
size_t pyserver_hex(const char *hex, unsigned char *buf, size_t cap);

#endif
