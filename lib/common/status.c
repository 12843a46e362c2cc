/* see mailout/status.h */
#include "internal.h"

const char *mailout_strerror(int status)
{
    switch (status) {
#define MAILOUT_STATUS_MSG_(name, value, msg) \
    case value: \
        return msg;
        MAILOUT_STATUS_MAP(MAILOUT_STATUS_MSG_)
#undef MAILOUT_STATUS_MSG_
    default:
        return "unknown status";
    }
}

const char *mailout_errname(int status)
{
    switch (status) {
#define MAILOUT_STATUS_NAME_(name, value, msg) \
    case value: \
        return #name;
        MAILOUT_STATUS_MAP(MAILOUT_STATUS_NAME_)
#undef MAILOUT_STATUS_NAME_
    default:
        return "?";
    }
}
