/* log.h - nlbctld's log: one line per event, with time and level, to the
 * log file and, in console mode, to stderr. (The Event Log comes with the
 * installer work; every line here is what it will carry.) */
#ifndef NLBCTL_LOG_H
#define NLBCTL_LOG_H

enum log_level { LOG_INFO = 0, LOG_WARNING = 1, LOG_ERROR = 2 };

/* Opens (appends to) path; to_stderr copies every line to stderr.
 * Returns 0, or a Win32 error code (logging then goes to stderr only). */
unsigned long log_open(const char *path, int to_stderr);
void log_close(void);

void log_write(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
