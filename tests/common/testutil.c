#include "testutil.h"

#include <stdio.h>
#include <string.h>

const char *testutil_escape(const void *data, size_t len)
{
    static char out[4096];
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < sizeof out; i++) {
        unsigned char c = p[i];
        if (c == '\r') {
            o += (size_t)snprintf(out + o, sizeof out - o, "\\r");
        } else if (c == '\n') {
            o += (size_t)snprintf(out + o, sizeof out - o, "\\n");
        } else if (c == '\\') {
            o += (size_t)snprintf(out + o, sizeof out - o, "\\\\");
        } else if (c < 32 || c >= 127) {
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void testutil_assert_bytes(const void *exp, size_t exp_len, const void *got, size_t got_len, const char *file,
                           int line)
{
    const unsigned char *e = exp, *g = got;
    size_t n = exp_len < got_len ? exp_len : got_len, i = 0;
    while (i < n && e[i] == g[i])
        i++;
    if (i == n && exp_len == got_len)
        return;
    size_t from = i > 40 ? i - 40 : 0;
    size_t elen = exp_len - from < 80 ? exp_len - from : 80;
    size_t glen = got_len - from < 80 ? got_len - from : 80;
    print_error("%s:%d: bytes differ at offset %zu (expected %zu bytes, got %zu)\n", file, line, i, exp_len, got_len);
    print_error("  expected[%zu..]: \"%s\"\n", from, testutil_escape(e + from, elen));
    print_error("  got     [%zu..]: \"%s\"\n", from, testutil_escape(g + from, glen));
    _fail(file, line);
}

void testutil_assert_status(int exp, int got, const char *file, int line)
{
    if (exp == got)
        return;
    print_error("%s:%d: expected status %s (%d), got %s (%d)\n", file, line, mailout_errname(exp), exp,
                mailout_errname(got), got);
    _fail(file, line);
}

static int env_now(void *ctx, int64_t *secs, int *offset)
{
    testutil_env *env = ctx;
    *secs = env->now;
    *offset = env->utc_offset;
    return 0;
}

static int env_random(void *ctx, void *buf, size_t len)
{
    testutil_env *env = ctx;
    unsigned char *p = buf;
    env->random_calls++;
    for (size_t i = 0; i < len; i++) {
        env->rng ^= env->rng << 13;
        env->rng ^= env->rng >> 7;
        env->rng ^= env->rng << 17;
        p[i] = (unsigned char)(env->rng >> 24);
    }
    return 0;
}

mailout_env testutil_env_init(testutil_env *env)
{
    mailout_env e;
    memset(env, 0, sizeof *env);
    env->now = 1795359340; /* 2026-11-22 14:55:40 UTC */
    env->utc_offset = 0;
    env->rng = 1;
    memset(&e, 0, sizeof e);
    e.now = env_now;
    e.random = env_random;
    e.ctx = env;
    return e;
}
