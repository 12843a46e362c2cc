/*
 * mailout-send: composing the message from the command line; see cli.h.
 *
 * Files given with --attach go through the library's own file source
 * (mailout_part_set_file). The body text, --attach-tail and --attach-cmd
 * are producer callbacks over a file descriptor: the body text must not
 * get a file name, a tail starts at an offset, and a command's output
 * exists only once and has to be checked for the command's exit status
 * before the message may end.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

typedef enum source_kind {
    SRC_FILE = 0, /* a file (or stdin), possibly from an offset */
    SRC_CMD       /* the stdout of a child process */
} source_kind;

struct cli_source {
    source_kind kind;
    const char *opt; /* the option, for messages: "--text" */
    const char *arg; /* its argument: path or command */
    int fd;          /* -1 when not open */
    int own_fd;      /* close fd at the end (not stdin) */
    uint64_t base;   /* SRC_FILE: file offset where the data starts */
    uint64_t len;    /* bytes to produce, or MAILOUT_SIZE_UNKNOWN */
    uint64_t pos;    /* bytes produced since the (re)start */
    pid_t pid;       /* SRC_CMD: running child, or 0 */
    int started;     /* SRC_CMD: the child was started once */
    char why[200];   /* what went wrong, for cli_body_explain() */
};

/* ------------------------------------------------------------------ */
/* file sources                                                        */
/* ------------------------------------------------------------------ */

static mailout_status file_read(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    cli_source *s = ctx;
    ssize_t r;

    *produced = 0;
    if (s->len != MAILOUT_SIZE_UNKNOWN && cap > s->len - s->pos)
        cap = (size_t)(s->len - s->pos);
    if (cap == 0)
        return MAILOUT_DONE;
    do
        r = read(s->fd, buf, cap);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        snprintf(s->why, sizeof s->why, "%s %s: %s", s->opt, s->arg, strerror(errno));
        return MAILOUT_E_FILE;
    }
    if (r == 0) {
        if (s->len != MAILOUT_SIZE_UNKNOWN) {
            snprintf(s->why, sizeof s->why, "%s %s: the file shrank while it was being sent", s->opt, s->arg);
            return MAILOUT_E_FILE;
        }
        return MAILOUT_DONE;
    }
    *produced = (size_t)r;
    s->pos += (uint64_t)r;
    return s->pos == s->len ? MAILOUT_DONE : MAILOUT_OK;
}

static mailout_status file_rewind(void *ctx)
{
    cli_source *s = ctx;

    if (lseek(s->fd, (off_t)s->base, SEEK_SET) < 0) {
        snprintf(s->why, sizeof s->why, "%s %s: cannot rewind: %s", s->opt, s->arg, strerror(errno));
        return MAILOUT_E_FILE;
    }
    s->pos = 0;
    return MAILOUT_OK;
}

/* Open @p path (or use stdin for "-"); with @p tail, keep only the last
 * @p tail bytes. Regular files get a size and can be rewound (so the
 * library can scan text before choosing its encoding); pipes cannot. */
static int file_open(cli_source *s, const char *opt, const char *path, uint64_t tail, FILE *err)
{
    struct stat st;
    off_t here = 0;

    s->kind = SRC_FILE;
    s->opt = opt;
    s->arg = path;
    s->len = MAILOUT_SIZE_UNKNOWN;
    if (strcmp(path, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        s->own_fd = 1;
    }
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        fprintf(err, "mailout-send: %s %s: %s\n", opt, path, strerror(errno));
        return CLI_EX_NOINPUT;
    }
    if (S_ISREG(st.st_mode) && (here = lseek(s->fd, 0, SEEK_CUR)) >= 0 && here <= st.st_size) {
        s->base = (uint64_t)here;
        s->len = (uint64_t)(st.st_size - here);
        if (tail && s->len > tail) {
            s->base += s->len - tail;
            s->len = tail;
        }
        if (lseek(s->fd, (off_t)s->base, SEEK_SET) < 0) {
            fprintf(err, "mailout-send: %s %s: %s\n", opt, path, strerror(errno));
            return CLI_EX_NOINPUT;
        }
    } else if (tail) {
        fprintf(err, "mailout-send: %s %s: not a regular file\n", opt, path);
        return CLI_EX_NOINPUT;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* command source                                                      */
/* ------------------------------------------------------------------ */

static int cmd_start(cli_source *s)
{
    int p[2];
    pid_t pid;

    if (pipe(p) != 0) {
        snprintf(s->why, sizeof s->why, "%s: pipe: %s", s->opt, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(s->why, sizeof s->why, "%s: fork: %s", s->opt, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* child: stdout into the pipe, stdin from /dev/null so that it
         * never competes with --text - */
        int devnull = open("/dev/null", O_RDONLY);
        signal(SIGPIPE, SIG_DFL); /* mailout-send ignores it; the command must not */
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/bin/sh", "sh", "-c", s->arg, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    s->fd = p[0];
    s->own_fd = 1;
    s->pid = pid;
    return 0;
}

/* Reap the child; 0 if it exited with status 0, else -1 with s->why set. */
static int cmd_finish(cli_source *s)
{
    int status;
    pid_t r;

    do
        r = waitpid(s->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    s->pid = 0;
    if (r < 0) {
        snprintf(s->why, sizeof s->why, "%s \"%s\": waitpid: %s", s->opt, s->arg, strerror(errno));
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(s->why, sizeof s->why, "%s \"%s\": exited with status %d; the message was not sent", s->opt,
                 s->arg, WEXITSTATUS(status));
    else
        snprintf(s->why, sizeof s->why, "%s \"%s\": killed by signal %d; the message was not sent", s->opt,
                 s->arg, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

/* The output ends only when the command exited successfully: otherwise
 * the producer fails, and the library never ends the message, so a
 * half-collected attachment is never delivered. */
static mailout_status cmd_read(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    cli_source *s = ctx;
    ssize_t r;

    *produced = 0;
    if (!s->started) {
        s->started = 1; /* once: a command that failed to start stays failed */
        if (cmd_start(s) != 0)
            return MAILOUT_E_SOURCE;
    }
    if (s->fd < 0) /* read again after a failure or the end */
        return s->why[0] ? MAILOUT_E_SOURCE : MAILOUT_DONE;
    do
        r = read(s->fd, buf, cap);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        *produced = (size_t)r;
        return MAILOUT_OK;
    }
    if (r < 0)
        snprintf(s->why, sizeof s->why, "%s \"%s\": read: %s", s->opt, s->arg, strerror(errno));
    close(s->fd);
    s->fd = -1;
    if (cmd_finish(s) != 0 || r < 0)
        return MAILOUT_E_SOURCE;
    return MAILOUT_DONE;
}

/* ------------------------------------------------------------------ */
/* composing                                                           */
/* ------------------------------------------------------------------ */

static const char *guess_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"txt", "text/plain"},       {"log", "text/plain"},        {"csv", "text/csv"},
        {"html", "text/html"},       {"htm", "text/html"},         {"json", "application/json"},
        {"xml", "application/xml"},  {"pdf", "application/pdf"},   {"zip", "application/zip"},
        {"gz", "application/gzip"},  {"tar", "application/x-tar"}, {"png", "image/png"},
        {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
        {"svg", "image/svg+xml"},    {"eml", "message/rfc822"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');

    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Print one line for a refused setter; returns the exit code. */
static int refused(mailout_status st, const char *opt, const char *arg, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];

    fprintf(err, "mailout-send: %s%s%s: %s\n", opt, arg ? " " : "", arg ? cli_printable(arg, q, sizeof q) : "",
            mailout_strerror(st));
    return cli_exit_code(st);
}

/* "Name <addr>" → display name + addr (in @p buf); a bare addr stays. */
static const char *split_addr(const char *in, char *buf, size_t cap, const char **display)
{
    const char *lt = strrchr(in, '<');
    size_t n = strlen(in), dn;

    *display = NULL;
    if (!lt || n == 0 || in[n - 1] != '>' || n >= cap)
        return in;
    memcpy(buf, in, n + 1);
    buf[n - 1] = '\0';
    dn = (size_t)(lt - in);
    while (dn > 0 && buf[dn - 1] == ' ')
        dn--;
    buf[dn] = '\0';
    if (dn > 0) {
        /* drop surrounding quotes of "Name" */
        if (buf[0] == '"' && dn > 1 && buf[dn - 1] == '"') {
            buf[dn - 1] = '\0';
            *display = buf + 1;
        } else {
            *display = buf;
        }
    }
    return buf + (lt - in) + 1;
}

static int set_envelope(mailout_msg *m, const cli_config *cfg, FILE *err)
{
    static const char *const kind_opt[] = {"--to", "--cc", "--bcc"};
    char buf[512];
    const char *disp, *addr;
    mailout_status st;

    addr = split_addr(cfg->from, buf, sizeof buf, &disp);
    if ((st = mailout_msg_set_from(m, addr, disp)) != MAILOUT_OK)
        return refused(st, "--from", cfg->from, err);
    for (size_t i = 0; i < cfg->nrcpt; i++) {
        addr = split_addr(cfg->rcpt[i], buf, sizeof buf, &disp);
        st = mailout_msg_add_recipient(m, cfg->rcpt_kind[i], addr, disp);
        if (st != MAILOUT_OK)
            return refused(st, kind_opt[cfg->rcpt_kind[i]], cfg->rcpt[i], err);
    }
    if (cfg->subject && (st = mailout_msg_set_subject(m, cfg->subject)) != MAILOUT_OK)
        return refused(st, "--subject", cfg->subject, err);
    if (cfg->dsn_notify && (st = mailout_msg_set_dsn(m, cfg->dsn_notify, MAILOUT_DSN_RET_DEFAULT, NULL)) != MAILOUT_OK)
        return refused(st, "--dsn", NULL, err);
    return 0;
}

static int set_headers(mailout_msg *m, const cli_config *cfg, FILE *err)
{
    char name[MAILOUT_MAX_HEADER_NAME_LEN + 1];

    for (size_t i = 0; i < cfg->nheaders; i++) {
        const char *h = cfg->headers[i];
        const char *colon = strchr(h, ':');
        const char *value = colon + 1;
        size_t n = (size_t)(colon - h);
        mailout_status st = MAILOUT_E_HEADER;

        while (*value == ' ' || *value == '\t')
            value++;
        if (n < sizeof name) {
            memcpy(name, h, n);
            name[n] = '\0';
            st = mailout_msg_add_header(m, name, value);
        }
        if (st != MAILOUT_OK)
            return refused(st, "--header", h, err);
    }
    return 0;
}

static cli_source *next_source(cli_body *b)
{
    cli_source *s = &b->sources[b->nsources++];
    memset(s, 0, sizeof *s);
    s->fd = -1;
    return s;
}

/* A text part from --text/--html, as a producer over the file. */
static int add_text(cli_body *b, mailout_part *parent, const char *opt, const char *path, const char *type,
                    FILE *err)
{
    cli_source *s = next_source(b);
    mailout_part *p;
    mailout_status st;
    int rc = file_open(s, opt, path, 0, err);

    if (rc)
        return rc;
    if ((st = mailout_part_new(b->msg, parent, &p)) != MAILOUT_OK ||
        (st = mailout_part_set_type(p, type)) != MAILOUT_OK ||
        (st = mailout_part_set_producer(p, file_read, s->len != MAILOUT_SIZE_UNKNOWN ? file_rewind : NULL, s,
                                        s->len)) != MAILOUT_OK)
        return refused(st, opt, path, err);
    return 0;
}

static int add_attachment(cli_body *b, mailout_part *parent, const cli_attach *a, size_t cmd_no, FILE *err)
{
    static const char *const opts[] = {"--attach", "--attach-cmd", "--attach-tail"};
    char cmd_name[64];
    const char *name = a->name, *type = a->type;
    cli_source *s;
    mailout_part *p;
    mailout_status st;
    int rc;

    if ((st = mailout_part_new(b->msg, parent, &p)) != MAILOUT_OK)
        return refused(st, opts[a->kind], a->path, err);
    if (a->kind == CLI_ATTACH_CMD) {
        snprintf(cmd_name, sizeof cmd_name, cmd_no > 1 ? "command-output-%zu.txt" : "command-output.txt", cmd_no);
        name = cmd_name;
        type = type ? type : "text/plain";
    }
    type = type ? type : guess_type(name ? name : a->path);
    if ((st = mailout_part_set_type(p, type)) != MAILOUT_OK)
        return refused(st, opts[a->kind], type, err);
    if (name && (st = mailout_part_set_filename(p, name)) != MAILOUT_OK)
        return refused(st, opts[a->kind], name, err);
    if ((st = mailout_part_set_disposition(p, MAILOUT_ATTACHMENT)) != MAILOUT_OK)
        return refused(st, opts[a->kind], a->path, err);
    switch (a->kind) {
    case CLI_ATTACH_FILE:
        st = mailout_part_set_file(p, a->path);
        break;
    case CLI_ATTACH_TAIL:
        s = next_source(b);
        if ((rc = file_open(s, opts[a->kind], a->path, a->tail_bytes, err)) != 0)
            return rc;
        if (!name) {
            const char *slash = strrchr(a->path, '/');
            st = mailout_part_set_filename(p, slash ? slash + 1 : a->path);
            if (st != MAILOUT_OK)
                break;
        }
        st = mailout_part_set_producer(p, file_read, file_rewind, s, s->len);
        break;
    case CLI_ATTACH_CMD:
        s = next_source(b);
        s->kind = SRC_CMD;
        s->opt = opts[a->kind];
        s->arg = a->path;
        /* the output exists once: no rewind, size unknown */
        st = mailout_part_set_producer(p, cmd_read, NULL, s, MAILOUT_SIZE_UNKNOWN);
        break;
    }
    if (st != MAILOUT_OK)
        return refused(st, opts[a->kind], a->path, err);
    return 0;
}

/* text and/or html, as one part or a multipart/alternative under @p parent */
static int add_content(cli_body *b, mailout_part *parent, const cli_config *cfg, FILE *err)
{
    mailout_part *alt = NULL, *p;
    mailout_status st;
    int rc;

    if (cfg->text && cfg->html) {
        if ((st = mailout_part_new_multipart(b->msg, parent, MAILOUT_MULTIPART_ALTERNATIVE, &alt)) != MAILOUT_OK)
            return refused(st, "--html", cfg->html, err);
        parent = alt;
    }
    if (cfg->text && (rc = add_text(b, parent, "--text", cfg->text, "text/plain", err)) != 0)
        return rc;
    if (cfg->html && (rc = add_text(b, parent, "--html", cfg->html, "text/html", err)) != 0)
        return rc;
    if (!cfg->text && !cfg->html && cfg->nattach == 0) {
        /* no body at all: one empty text/plain part */
        if ((st = mailout_part_new(b->msg, parent, &p)) != MAILOUT_OK)
            return refused(st, "--text", NULL, err);
    }
    return 0;
}

int cli_check_inputs(const cli_config *cfg, FILE *err)
{
    const char *paths[2 + CLI_MAX_ATTACH];
    const char *opts[2 + CLI_MAX_ATTACH];
    size_t n = 0;

    if (cfg->text && strcmp(cfg->text, "-") != 0) {
        opts[n] = "--text";
        paths[n++] = cfg->text;
    }
    if (cfg->html) {
        opts[n] = "--html";
        paths[n++] = cfg->html;
    }
    for (size_t i = 0; i < cfg->nattach; i++) {
        if (cfg->attach[i].kind == CLI_ATTACH_CMD)
            continue;
        opts[n] = cfg->attach[i].kind == CLI_ATTACH_FILE ? "--attach" : "--attach-tail";
        paths[n++] = cfg->attach[i].path;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (access(paths[i], R_OK) != 0 || stat(paths[i], &st) != 0) {
            fprintf(err, "mailout-send: %s %s: %s\n", opts[i], paths[i], strerror(errno));
            return CLI_EX_NOINPUT;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(err, "mailout-send: %s %s: is a directory\n", opts[i], paths[i]);
            return CLI_EX_NOINPUT;
        }
    }
    return 0;
}

int cli_body_build(cli_body *b, const cli_config *cfg, FILE *err)
{
    mailout_allocator heap = mailout_heap_allocator();
    mailout_env env = mailout_posix_env();
    mailout_part *root = NULL;
    mailout_status st;
    size_t cmds = 0;
    int rc;

    memset(b, 0, sizeof *b);
    /* at most text + html + one per attachment */
    b->sources = calloc(2 + cfg->nattach, sizeof *b->sources);
    if (!b->sources || (st = mailout_msg_new(&b->msg, &heap)) != MAILOUT_OK) {
        fprintf(err, "mailout-send: out of memory\n");
        return CLI_EX_SOFTWARE;
    }
    if ((st = mailout_msg_set_env(b->msg, &env)) != MAILOUT_OK)
        return refused(st, "environment", NULL, err);
    if ((rc = set_envelope(b->msg, cfg, err)) != 0 || (rc = set_headers(b->msg, cfg, err)) != 0)
        return rc;
    if (cfg->nattach > 0 &&
        (st = mailout_part_new_multipart(b->msg, NULL, MAILOUT_MULTIPART_MIXED, &root)) != MAILOUT_OK)
        return refused(st, "--attach", NULL, err);
    if ((rc = add_content(b, root, cfg, err)) != 0)
        return rc;
    for (size_t i = 0; i < cfg->nattach; i++) {
        if (cfg->attach[i].kind == CLI_ATTACH_CMD)
            cmds++;
        if ((rc = add_attachment(b, root, &cfg->attach[i], cmds, err)) != 0)
            return rc;
    }
    return 0;
}

int cli_body_explain(const cli_body *b, FILE *err)
{
    for (size_t i = 0; i < b->nsources; i++) {
        if (b->sources[i].why[0]) {
            fprintf(err, "mailout-send: %s\n", b->sources[i].why);
            return 1;
        }
    }
    return 0;
}

void cli_body_free(cli_body *b)
{
    for (size_t i = 0; b->sources && i < b->nsources; i++) {
        cli_source *s = &b->sources[i];
        if (s->fd >= 0 && s->own_fd)
            close(s->fd);
        s->fd = -1;
        if (s->pid > 0) {
            /* sending stopped before the command finished; SIGKILL so
             * that the wait below is bounded */
            kill(s->pid, SIGKILL);
            while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                ;
            s->pid = 0;
        }
    }
    mailout_msg_free(b->msg);
    free(b->sources);
    memset(b, 0, sizeof *b);
}
