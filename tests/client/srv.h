/*
 * A small scripted SMTP server for the client tests, in process.
 *
 * It speaks over one socket (a socketpair end or an accepted TCP
 * connection), never blocks, and records every byte the client sent, so a
 * test can assert the exact wire. Replies come from a rule table: for each
 * command line (and for the end of the data, matched as "."), the first
 * rule whose prefix matches (case-insensitive) and that still has uses
 * left decides. It can be stepped from a test's own loop (superloop tests)
 * or run on a thread (blocking driver tests over TCP).
 */
#ifndef CLIENT_TEST_SRV_H
#define CLIENT_TEST_SRV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum srv_action {
    SRV_REPLY = 0, /* send reply */
    SRV_CLOSE,     /* close the connection instead of replying */
    SRV_DELAY      /* send reply after delay_ms */
} srv_action;

typedef struct srv_rule {
    const char *match;  /* command prefix ("EHLO", "RCPT", ...); "." = end of data */
    const char *reply;  /* full reply with CRLFs */
    srv_action action;
    unsigned delay_ms;
    unsigned times;     /* uses; 0 = unlimited */
} srv_rule;

#define SRV_MAX_RULES 16

typedef struct srv {
    int fd;                   /* -1 once closed */
    int listen_fd;            /* threaded TCP mode */
    srv_rule rules[SRV_MAX_RULES];
    unsigned used[SRV_MAX_RULES];
    size_t nrules;
    const char *greeting;     /* sent at start */
    unsigned greeting_delay_ms;
    unsigned char *log;       /* every byte received */
    size_t log_len, log_cap;
    size_t parsed;            /* log offset of the next unparsed byte */
    int data_mode;            /* inside DATA: looking for CRLF.CRLF */
    unsigned char out[8192];  /* pending reply bytes */
    size_t out_len, out_off;
    uint64_t hold_until;      /* delayed output: not before this time (ms) */
    int close_after_out;      /* close once out is sent */
    int peer_closed;          /* the client closed its end */
    int started;
    /* threaded mode */
    pthread_t thread;
    uint16_t port;
    unsigned run_ms;          /* bound on the thread's life */
} srv;

/* Prepare a server over @p fd (made non-blocking), with @p greeting. */
void srv_init(srv *s, int fd, const char *greeting);
/* Add a rule (see srv_rule). */
void srv_rule_add(srv *s, const char *match, const char *reply, srv_action action, unsigned delay_ms,
                  unsigned times);
/* The standard happy rules for a server without extensions. */
void srv_rules_plain(srv *s);
/* Read what is there, answer, write what can be written. Never blocks. */
void srv_step(srv *s, uint64_t now_ms);
/* Free the log and close the socket. */
void srv_free(srv *s);

/* Listen on 127.0.0.1, port chosen by the kernel (s->port); add rules,
 * then srv_tcp_start(): a thread accepts one connection and serves it
 * until the client closes or @p run_ms passes. */
int srv_tcp_listen(srv *s, const char *greeting, unsigned run_ms);
int srv_tcp_start(srv *s);
/* Serve the connected s->fd on a thread (for s->run_ms at most). */
int srv_serve_fd_thread(srv *s, pthread_t *th);
/* Wait for the thread to end (call after the client is done). */
void srv_join(srv *s);

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
uint16_t srv_closed_port(void);

uint64_t srv_now_ms(void);

#endif
