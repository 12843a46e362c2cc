/* see mailout/transport.h: MX lookup (RFC 5321 §5.1, RFC 7505) through
 * the system resolver (libresolv). */
#define _DEFAULT_SOURCE

#include <string.h>

#include "internal.h"
#include "transport/transport_internal.h"

#include <mailout/transport.h>

#ifdef MAILOUT_HAVE_MX

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>

/* A host name we are willing to hand to getaddrinfo: printable, no
 * escapes from ns_name_ntop (a backslash means a byte that cannot be in a
 * host name), not the root. */
static int usable_name(const char *s)
{
    if (!s[0] || strcmp(s, ".") == 0)
        return 0;
    for (; *s; s++) {
        if (*s <= ' ' || *s >= 127 || *s == '\\')
            return 0;
    }
    return 1;
}

/* The i-th answer if it is an MX: preference and exchange name. Returns 1
 * for an MX, 0 for another type, -1 for a malformed record. */
static int get_mx(ns_msg *h, int i, unsigned *pref, char *name, size_t cap)
{
    ns_rr rr;
    if (ns_parserr(h, ns_s_an, i, &rr) != 0)
        return -1;
    if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in)
        return 0;
    if (ns_rr_rdlen(rr) < 3)
        return -1;
    const unsigned char *rd = ns_rr_rdata(rr);
    *pref = (unsigned)rd[0] << 8 | rd[1];
    if (ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), rd + 2, name, cap) < 0)
        return -1;
    return 1;
}

/* Is (p, i) before (bp, bi) in (preference, position) order? */
static int mx_before(unsigned p, int i, unsigned bp, int bi)
{
    return p < bp || (p == bp && i < bi);
}

mailout_status mailout_mx_parse(const unsigned char *msg, size_t len, const char *domain, char (*hosts)[256],
                                size_t max, size_t *count)
{
    ns_msg h;
    char name[NS_MAXDNAME];
    if (!msg || !domain || !hosts || !count || max == 0)
        return MAILOUT_E_INVAL;
    *count = 0;
    if (len > NS_MAXMSG || ns_initparse(msg, (int)len, &h) != 0)
        return MAILOUT_E_RESOLVE;
    int n = ns_msg_count(h, ns_s_an);

    /* First pass: validate everything, find null MX. */
    int mx = 0, null_mx = 0;
    for (int i = 0; i < n; i++) {
        unsigned pref;
        int r = get_mx(&h, i, &pref, name, sizeof name);
        if (r < 0)
            return MAILOUT_E_RESOLVE;
        if (r == 1) {
            mx++;
            if (strcmp(name, ".") == 0 || name[0] == '\0')
                null_mx = 1;
        }
    }
    /* RFC 7505 §3: a null MX says the domain takes no mail. A domain that
     * publishes one next to real exchanges is misconfigured; refusing is
     * the conservative reading. */
    if (null_mx)
        return MAILOUT_E_RESOLVE;
    if (mx == 0) {
        size_t dlen = strlen(domain);
        if (dlen >= sizeof hosts[0])
            return MAILOUT_E_LIMIT;
        memcpy(hosts[0], domain, dlen + 1);
        *count = 1;
        return MAILOUT_OK;
    }

    /* Selection by passes: each picks the best record after the previous
     * pick, so no storage beyond the caller's array is needed. Answers
     * are small (a few dozen records), so O(n * max) is fine. */
    unsigned last_p = 0;
    int last_i = -1;
    while (*count < max) {
        unsigned best_p = 0;
        int best_i = -1;
        for (int i = 0; i < n; i++) {
            unsigned pref;
            if (get_mx(&h, i, &pref, name, sizeof name) != 1)
                continue;
            if (last_i >= 0 && !mx_before(last_p, last_i, pref, i))
                continue;
            if (best_i < 0 || mx_before(pref, i, best_p, best_i)) {
                best_p = pref;
                best_i = i;
            }
        }
        if (best_i < 0)
            break;
        last_p = best_p;
        last_i = best_i;
        unsigned pref;
        get_mx(&h, best_i, &pref, name, sizeof name);
        if (!usable_name(name) || strlen(name) >= sizeof hosts[0])
            continue; /* skip exchanges we could never connect to */
        memcpy(hosts[*count], name, strlen(name) + 1);
        (*count)++;
    }
    return *count > 0 ? MAILOUT_OK : MAILOUT_E_RESOLVE;
}

mailout_status mailout_mx_lookup(const char *domain, char (*hosts)[256], size_t max, size_t *count)
{
    if (!domain || !domain[0] || !hosts || !count || max == 0)
        return MAILOUT_E_INVAL;
    *count = 0;
    for (const char *p = domain; *p; p++) {
        if (*p <= ' ' || *p >= 127)
            return MAILOUT_E_INVAL;
    }
    if (strlen(domain) > 253)
        return MAILOUT_E_LIMIT;

    /* res_n*: a private resolver state, so concurrent lookups from several
     * threads do not share _res. */
    struct __res_state rs;
    memset(&rs, 0, sizeof rs);
    if (res_ninit(&rs) != 0)
        return MAILOUT_E_RESOLVE;
    unsigned char *answer = malloc(NS_MAXMSG);
    if (!answer) {
        res_nclose(&rs);
        return MAILOUT_E_NOMEM;
    }
    int n = res_nquery(&rs, domain, ns_c_in, ns_t_mx, answer, NS_MAXMSG);
    int herr = rs.res_h_errno;
    res_nclose(&rs);

    mailout_status st;
    if (n >= 0) {
        st = mailout_mx_parse(answer, (size_t)(n > NS_MAXMSG ? NS_MAXMSG : n), domain, hosts, max, count);
    } else if (herr == NO_DATA) {
        /* The name exists but has no MX: implicit MX (RFC 5321 §5.1). */
        memcpy(hosts[0], domain, strlen(domain) + 1);
        *count = 1;
        st = MAILOUT_OK;
    } else {
        st = MAILOUT_E_RESOLVE; /* NXDOMAIN, SERVFAIL, no server */
    }
    free(answer);
    return st;
}

#else /* !MAILOUT_HAVE_MX */

mailout_status mailout_mx_lookup(const char *domain, char (*hosts)[256], size_t max, size_t *count)
{
    (void)domain;
    (void)hosts;
    (void)max;
    if (count)
        *count = 0;
    return MAILOUT_E_UNSUPPORTED;
}

#endif
