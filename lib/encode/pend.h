/* Shared by the encoders (internal). */
#ifndef MAILOUT_ENCODE_PEND_H
#define MAILOUT_ENCODE_PEND_H

#include <mailout/encode.h>

/* Write what is left of pend[*pendpos .. *npend) into @p s; nonzero (and
 * both counts reset) when all of it went out. */
int mailout_pend_flush(const unsigned char *pend, unsigned char *npend, unsigned char *pendpos, mailout_stream *s);

#endif
