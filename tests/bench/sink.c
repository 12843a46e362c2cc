/*
 * A fast discarding SMTP server for the throughput benchmarks: reads in
 * 1 MiB chunks, answers a minimal ESMTP dialogue (EHLO with PIPELINING,
 * 8BITMIME, CHUNKING, SIZE; MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT) and
 * throws the message away, counting its bytes. Postfix's smtp-sink tops
 * out near 160 MB/s on this machine; this one is limited by the kernel's
 * loopback copy, so the client is what gets measured.
 *
 *   sink [-p PORT] [-n CONNECTIONS] [-v] [-t CERT KEYFILE]
 * Prints "PORT n" when listening, and with -v per message "MSG bytes".
 * With -t (built with wolfSSL) every connection is implicit TLS (port 465
 * style) with that certificate and key; -v then also prints the
 * negotiated version and cipher.
 * Exits after CONNECTIONS connections (default: run until killed).
 *
 * Not a conformant server: commands are matched by their first 4 letters
 * and nothing is validated. Never use it outside the benchmarks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <poll.h>

#ifdef SINK_TLS
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
static WOLFSSL_CTX *tls_ctx;
#endif

#define BUF (1 << 20)

typedef struct conn {
    int fd;
    char *buf;
    size_t len;       /* bytes in buf */
    size_t pos;       /* parse position */
    int in_data;      /* inside DATA: looking for CRLF.CRLF */
    unsigned tail;    /* terminator bytes matched so far, across reads */
    unsigned long long bdat_left;
    int bdat_last;
    unsigned long long msg_bytes;
    char out[4096];   /* replies, sent when the input runs dry (pipelining) */
    size_t out_len;
#ifdef SINK_TLS
    WOLFSSL *ssl;
#endif
} conn;

static ssize_t io_send(conn *c, const char *s, size_t n)
{
#ifdef SINK_TLS
    if (c->ssl)
        return wolfSSL_write(c->ssl, s, (int)n);
#endif
    return send(c->fd, s, n, MSG_NOSIGNAL);
}

/* Reads what is there; with !block returns -1 rather than wait. */
static ssize_t io_recv(conn *c, char *buf, size_t cap, int block)
{
#ifdef SINK_TLS
    if (c->ssl) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (!block && wolfSSL_pending(c->ssl) == 0 && poll(&p, 1, 0) == 0)
            return -1;
        int n = wolfSSL_read(c->ssl, buf, cap > 1 << 20 ? 1 << 20 : (int)cap);
        return n > 0 ? n : 0;
    }
#endif
    return recv(c->fd, buf, cap, block ? 0 : MSG_DONTWAIT);
}

static void flush(conn *c)
{
    const char *s = c->out;
    size_t n = c->out_len;
    while (n) {
        ssize_t w = io_send(c, s, n);
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    c->out_len = 0;
}

/* Replies are collected and sent in one write when all input read so far
 * has been handled, as pipelining servers do (RFC 2920 §3.2): one reply
 * per segment would leave the second one waiting on Nagle's algorithm for
 * the client's delayed ACK (40 ms per transaction on Linux). */
static void reply(conn *c, const char *s)
{
    size_t n = strlen(s);
    if (c->out_len + n > sizeof c->out)
        flush(c);
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static int verbose;

static void end_message(conn *c)
{
    if (verbose) {
        printf("MSG %llu\n", c->msg_bytes);
        fflush(stdout);
    }
    c->msg_bytes = 0;
    reply(c, "250 2.0.0 Ok: discarded\r\n");
}

/* Consumes DATA bytes; returns 1 when the terminator was seen. The
 * terminator "\r\n.\r\n" may straddle reads: c->tail carries the match. */
static int eat_data(conn *c)
{
    static const char term[] = "\r\n.\r\n";
    while (c->pos < c->len) {
        if (c->tail == 0) {
            /* fast path: jump to the next CR */
            char *cr = memchr(c->buf + c->pos, '\r', c->len - c->pos);
            if (!cr) {
                c->msg_bytes += c->len - c->pos;
                c->pos = c->len;
                return 0;
            }
            c->msg_bytes += (size_t)(cr - (c->buf + c->pos));
            c->pos = (size_t)(cr - c->buf);
        }
        if (c->buf[c->pos] == term[c->tail]) {
            c->tail++;
            c->pos++;
            if (c->tail == 5) {
                c->tail = 0;
                return 1;
            }
        } else {
            c->msg_bytes += c->tail ? c->tail : 1;
            if (!c->tail)
                c->pos++;
            c->tail = 0;
        }
    }
    return 0;
}

static void command(conn *c, char *line)
{
    if (!strncasecmp(line, "EHLO", 4))
        reply(c, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-CHUNKING\r\n250-SIZE 0\r\n250 OK\r\n");
    else if (!strncasecmp(line, "HELO", 4))
        reply(c, "250 sink\r\n");
    else if (!strncasecmp(line, "DATA", 4)) {
        reply(c, "354 go ahead\r\n");
        c->in_data = 1;
        c->tail = 2; /* the DATA stream starts as if after a CRLF */
    } else if (!strncasecmp(line, "BDAT", 4)) {
        c->bdat_left = strtoull(line + 5, NULL, 10);
        c->bdat_last = strcasestr(line, "LAST") != NULL;
        if (c->bdat_left == 0 && c->bdat_last)
            end_message(c);
        else if (c->bdat_left == 0)
            reply(c, "250 2.0.0 chunk\r\n");
    } else if (!strncasecmp(line, "QUIT", 4)) {
        reply(c, "221 bye\r\n");
        flush(c);
        shutdown(c->fd, SHUT_WR);
    } else
        reply(c, "250 OK\r\n");
}

static void serve(int fd)
{
    int one = 1;
    conn c;
    memset(&c, 0, sizeof c);
    c.fd = fd;
    c.buf = malloc(BUF);
    if (!c.buf)
        exit(1);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SINK_TLS
    if (tls_ctx) {
        c.ssl = wolfSSL_new(tls_ctx);
        if (!c.ssl || wolfSSL_set_fd(c.ssl, fd) != WOLFSSL_SUCCESS || wolfSSL_accept(c.ssl) != WOLFSSL_SUCCESS) {
            fprintf(stderr, "sink: TLS handshake failed\n");
            wolfSSL_free(c.ssl);
            close(fd);
            free(c.buf);
            return;
        }
        if (verbose) {
            printf("TLS %s %s\n", wolfSSL_get_version(c.ssl), wolfSSL_get_cipher(c.ssl));
            fflush(stdout);
        }
    }
#endif
    reply(&c, "220 sink ESMTP\r\n");
    for (;;) {
        ssize_t n;
        if (c.pos == c.len)
            c.pos = c.len = 0;
        else if (c.len == BUF) {
            memmove(c.buf, c.buf + c.pos, c.len - c.pos);
            c.len -= c.pos;
            c.pos = 0;
        }
        if (c.out_len) {
            /* nothing more to parse without new input: answer first */
            n = io_recv(&c, c.buf + c.len, BUF - c.len, 0);
            if (n < 0) {
                flush(&c);
                n = io_recv(&c, c.buf + c.len, BUF - c.len, 1);
            }
        } else {
            n = io_recv(&c, c.buf + c.len, BUF - c.len, 1);
        }
        if (n <= 0)
            break;
        c.len += (size_t)n;
        while (c.pos < c.len) {
            if (c.bdat_left) {
                size_t take = c.len - c.pos < c.bdat_left ? c.len - c.pos : (size_t)c.bdat_left;
                c.pos += take;
                c.bdat_left -= take;
                c.msg_bytes += take;
                if (!c.bdat_left) {
                    if (c.bdat_last)
                        end_message(&c);
                    else
                        reply(&c, "250 2.0.0 chunk\r\n");
                }
            } else if (c.in_data) {
                if (eat_data(&c)) {
                    c.in_data = 0;
                    end_message(&c);
                }
            } else {
                char *nl = memchr(c.buf + c.pos, '\n', c.len - c.pos);
                if (!nl)
                    break;
                *nl = '\0';
                command(&c, c.buf + c.pos);
                c.pos = (size_t)(nl - c.buf) + 1;
            }
        }
    }
#ifdef SINK_TLS
    if (c.ssl) {
        wolfSSL_shutdown(c.ssl);
        wolfSSL_free(c.ssl);
    }
#endif
    close(fd);
    free(c.buf);
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int port = 0, conns = -1, opt, one = 1, ls;
    while ((opt = getopt(argc, argv, "p:n:vt:")) != -1) {
        if (opt == 'v')
            verbose = 1;
        else if (opt == 't') {
#ifdef SINK_TLS
            /* -t CERT KEY: the key is the next argument */
            if (optind >= argc)
                return 64;
            wolfSSL_Init();
            tls_ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
            if (!tls_ctx || wolfSSL_CTX_use_certificate_chain_file(tls_ctx, optarg) != WOLFSSL_SUCCESS ||
                wolfSSL_CTX_use_PrivateKey_file(tls_ctx, argv[optind++], WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
                fprintf(stderr, "sink: cannot load the certificate\n");
                return 66;
            }
#else
            fprintf(stderr, "sink: built without TLS\n");
            return 69;
#endif
        }
        else if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'n')
            conns = atoi(optarg);
        else
            return 64;
    }
    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0)
        return 1;
    getsockname(ls, (struct sockaddr *)&a, &alen);
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    while (conns != 0) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd);
        if (conns > 0)
            conns--;
    }
    close(ls);
    return 0;
}
