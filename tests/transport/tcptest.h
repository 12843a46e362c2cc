/* Helpers of the TCP transport tests (test_tcp.c, test_tcp_io.c): sockets
 * of this process on the loopback, port 0. */
#ifndef MAILOUT_TEST_TCPTEST_H
#define MAILOUT_TEST_TCPTEST_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/transport.h>

uint64_t mono_ms(void);
/* A socket bound to the loopback of @p family, port 0; listening when
 * backlog >= 0. Returns -1 if the family has no loopback here. */
int loopback_socket(int family, int backlog, uint16_t *port);
/* Accepts a connection on @p lfd within @p ms (fails the test if none). */
int accept_within(int lfd, int ms);
/* Receives exactly @p len bytes (5 s at most per read). */
void read_exact(int fd, unsigned char *buf, size_t len);

/* A connection through the transport to a listener of this process. */
typedef struct pair {
    int lfd, sfd;
    mailout_tcp *c;
    mailout_transport t;
} pair;
/* Connects to 127.0.0.1 in mode @p nonblocking (MAILOUT_TCP_*) with
 * io_timeout_ms @p io_ms and accepts the peer's end (sfd). */
void open_pair(pair *p, int nonblocking, uint32_t io_ms);
void close_pair(pair *p);

#endif
