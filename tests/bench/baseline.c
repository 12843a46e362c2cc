/*
 * The benchmark's reference sender: the least work any SMTP client can do.
 * It speaks the same dialogue as mailout (EHLO, MAIL, RCPT, DATA, QUIT),
 * then writes an already-encoded, already-stuffed message from memory
 * with plain send() calls of a fixed size — what mailout would cost if
 * encoding, stuffing and buffering were free.
 *
 *   baseline PORT FILE CHUNK
 * FILE holds the message exactly as it goes after DATA (terminator
 * included). Prints "SENT bytes" on success.
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

static int fd;

/* Reads one complete reply (all continuation lines); returns its code. */
static int get_reply(void)
{
    char line[1024];
    size_t n = 0;
    for (;;) {
        char ch;
        if (recv(fd, &ch, 1, 0) != 1)
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
    if (send(fd, s, strlen(s), MSG_NOSIGNAL) != (ssize_t)strlen(s))
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
    if (argc != 4)
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
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || get_reply() != 220 ||
        cmd("EHLO bench\r\n", 250) || cmd("MAIL FROM:<a@example.com>\r\n", 250) ||
        cmd("RCPT TO:<b@example.com>\r\n", 250) || cmd("DATA\r\n", 354))
        return 75;
    while (off < (size_t)sb.st_size) {
        size_t n = (size_t)sb.st_size - off < chunk ? (size_t)sb.st_size - off : chunk;
        ssize_t w = send(fd, msg + off, n, MSG_NOSIGNAL);
        if (w <= 0)
            return 75;
        off += (size_t)w;
    }
    if (get_reply() != 250 || cmd("QUIT\r\n", 221))
        return 75;
    printf("SENT %zu\n", off);
    return 0;
}
