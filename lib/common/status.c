/* see mailout/status.h */
#include "internal.h"

#if MAILOUT_ENABLE_STATUS_TEXT
/* One row per status, generated from the same table as the enum. A table
 * searched linearly is several times smaller than a switch on Cortex-M. */
typedef struct status_row {
    short value;
    const char *name;
    const char *msg;
} status_row;

static const status_row rows[] = {
#define MAILOUT_STATUS_ROW_(name, value, msg) {value, #name, msg},
    MAILOUT_STATUS_MAP(MAILOUT_STATUS_ROW_)
#undef MAILOUT_STATUS_ROW_
};

static const status_row *find_row(int status)
{
    for (size_t i = 0; i < MAILOUT_ARRAY_LEN(rows); i++)
        if (rows[i].value == status)
            return &rows[i];
    return NULL;
}

const char *mailout_strerror(int status)
{
    const status_row *r = find_row(status);
    return r ? r->msg : "unknown status";
}

const char *mailout_errname(int status)
{
    const status_row *r = find_row(status);
    return r ? r->name : "?";
}
#else
/* Firmware built without status text: the numeric code is the report. */
const char *mailout_strerror(int status)
{
    (void)status;
    return "mailout status (text compiled out)";
}

const char *mailout_errname(int status)
{
    (void)status;
    return "?";
}
#endif
