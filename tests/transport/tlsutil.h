/*
 * Helpers shared by the TLS tests (test_tls.c, test_tls_verify.c).
 * Every loop is bounded (10 s) and fails the test when it runs out.
 */
#ifndef MAILOUT_TEST_TLSUTIL_H
#define MAILOUT_TEST_TLSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/mailout.h>

#include "pyserver.h"

#define IO_MS 5000u

/* Path of a generated test certificate file (rotating static buffers). */
const char *cert(const char *name);
uint64_t mono_ms(void);

/* Start tls_server.py: mode, leaf certificate base name (NULL: none),
 * extra arguments (NULL-terminated, or NULL). */
void start(pyserver *ps, const char *mode, const char *leaf, const char *const *extra);

/* A TCP connection that must succeed. */
mailout_tcp *tcp_to(const char *host, uint16_t port, int nonblocking, uint32_t io_ms, mailout_transport *t);

/* Secure defaults plus the test CA as the only trust anchor. */
void default_cfg(mailout_tls_config *cfg, const char *name);

/* Handshake to the end, waiting through the session's own wait();
 * *agains counts MAILOUT_AGAIN results. */
mailout_status handshake(mailout_tls *tls, const mailout_transport *tt, int *agains);

/* Send everything (each call taking at most max_per_call) / read exactly
 * len bytes, waiting through wait() on 0. */
void write_all(const mailout_transport *tt, const void *data, size_t len, size_t max_per_call);
void read_exact(const mailout_transport *tt, unsigned char *buf, size_t len);

/* The server's greeting, then one echo round trip of msg. */
void expect_greeting(const mailout_transport *tt);
void exchange(const mailout_transport *tt, const char *msg);

/* The application bytes the server received equal exp. */
void assert_appdata(const pyserver *ps, const char *exp);

/* Connect, handshake with cfg expecting exp (sticky, nothing can be sent
 * or received afterwards), finish the server, and check that it received
 * no application byte. */
void run_failure(pyserver *ps, const mailout_tls_config *cfg, mailout_status exp);

#endif
