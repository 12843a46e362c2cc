/*
 * Sizes of the per-session objects on the target, for footprint.sh: each
 * array below is as large as one object, so `nm -S` of this file's object
 * reads them off the cross build without running anything.
 */
#include "message/msg_internal.h"
#include "smtp/smtp_internal.h"

unsigned char ramsize_smtp[sizeof(struct mailout_smtp)];
unsigned char ramsize_msg[sizeof(struct mailout_msg)];
unsigned char ramsize_part[sizeof(struct mailout_part)];
