/*
 * The benchmark's reference sender: the least work any SMTP client can do.
 * It speaks the same dialogue as mailout (EHLO, MAIL, RCPT, DATA, QUIT),
 * then writes an already-encoded, already-stuffed message from memory
 * with plain send() calls of a fixed size — what mailout would cost if
 * encoding, stuffing and buffering were free.
 *
 *   baseline PORT FILE CHUNK [CAFILE]
 * FILE holds the message exactly as it goes after DATA (terminator
 * included). Prints "SENT bytes" on success. With CAFILE (built with
 * wolfSSL) the connection is implicit TLS, verified against CAFILE for
 * "localhost", with wolfSSL's defaults, and every wolfSSL_write() takes
 * CHUNK bytes: one record each, as mailout writes them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SINK_TLS
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
static WOLFSSL *ssl;
#endif

static int fd;

static ssize_t io_send(const void *p, size_t n)
{
#ifdef SINK_TLS
    if (ssl)
        return wolfSSL_write(ssl, p, (int)n);
#endif
    return send(fd, p, n, MSG_NOSIGNAL);
}

static ssize_t io_recv(void *p, size_t n)
{
#ifdef SINK_TLS
    if (ssl)
        return wolfSSL_read(ssl, p, (int)n);
#endif
    return recv(fd, p, n, 0);
}

#ifdef SINK_TLS
static int tls_start(const char *cafile)
{
    WOLFSSL_CTX *ctx;
    wolfSSL_Init();
    ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (!ctx || wolfSSL_CTX_load_verify_locations(ctx, cafile, NULL) != WOLFSSL_SUCCESS)
        return -1;
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    ssl = wolfSSL_new(ctx);
    if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS ||
        wolfSSL_check_domain_name(ssl, "localhost") != WOLFSSL_SUCCESS || wolfSSL_connect(ssl) != WOLFSSL_SUCCESS)
        return -1;
    return 0;
}
#endif

/* Reads one complete reply (all continuation lines); returns its code. */
static int get_reply(void)
{
    char line[1024];
    size_t n = 0;
    for (;;) {
        char ch;
        if (io_recv(&ch, 1) != 1)
            return -1;
        if (n < sizeof line - 1)
            line[n++] = ch;
        if (ch == '\n') {
            line[n] = '\0';
            if (n >= 4 && line[3] != '-')
                return atoi(line);
            n = 0;
        }
    }
}

static int cmd(const char *s, int want)
{
    if (io_send(s, strlen(s)) != (ssize_t)strlen(s))
        return -1;
    return get_reply() == want ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    struct stat sb;
    const unsigned char *msg;
    size_t chunk, off = 0;
    int mfd;
    if (argc != 4 && argc != 5)
        return 64;
    chunk = (size_t)atol(argv[3]);
    mfd = open(argv[2], O_RDONLY);
    if (mfd < 0 || fstat(mfd, &sb) != 0 || chunk == 0)
        return 66;
    msg = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, mfd, 0);
    if (msg == MAP_FAILED)
        return 70;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return 75;
    if (argc == 5) {
#ifdef SINK_TLS
        if (tls_start(argv[4]) != 0)
            return 76;
#else
        return 69;
#endif
    }
    if (get_reply() != 220 ||
        cmd("EHLO bench\r\n", 250) || cmd("MAIL FROM:<a@example.com>\r\n", 250) ||
        cmd("RCPT TO:<b@example.com>\r\n", 250) || cmd("DATA\r\n", 354))
        return 75;
    while (off < (size_t)sb.st_size) {
        size_t n = (size_t)sb.st_size - off < chunk ? (size_t)sb.st_size - off : chunk;
        ssize_t w = io_send(msg + off, n);
        if (w <= 0)
            return 75;
        off += (size_t)w;
    }
    if (get_reply() != 250 || cmd("QUIT\r\n", 221))
        return 75;
    printf("SENT %zu\n", off);
    return 0;
}
