/* The output every streaming encoder keeps when the caller's window is
 * full (a base64 group, a QP =XX triple, a CRLF or stuffed dot). */
#include <string.h>

#include "internal.h"
#include "encode/pend.h"

int mailout_pend_flush(const unsigned char *pend, unsigned char *npend, unsigned char *pendpos, mailout_stream *s)
{
    size_t n = MAILOUT_MIN((size_t)(*npend - *pendpos), s->avail_out);
    memcpy(s->next_out, pend + *pendpos, n);
    s->next_out += n;
    s->avail_out -= n;
    *pendpos = (unsigned char)(*pendpos + n);
    if (*pendpos < *npend)
        return 0;
    *npend = *pendpos = 0;
    return 1;
}
