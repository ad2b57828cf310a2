/* log.h - nlbctld's log: one line per event, with time and level, to the
 * log file and, in console mode, to stderr; as a service, also to the
 * Windows Event Log (Application log, source "nlbctld"), each kind of event
 * under its own message ID from nlbctld_msg.mc, the line as its text. */
#ifndef NLBCTL_LOG_H
#define NLBCTL_LOG_H

enum log_level { LOG_INFO = 0, LOG_WARNING = 1, LOG_ERROR = 2 };

/* Opens (appends to) path; to_stderr copies every line to stderr.
 * Returns 0, or a Win32 error code (logging then goes to stderr only). */
unsigned long log_open(const char *path, int to_stderr);
void log_close(void);

/* Service mode: from now on events also go to the Event Log. A source that
 * is not registered (nlbctld installed without an installer) or cannot be
 * written costs one warning line in the log file, never the service. */
void log_eventlog_open(void);
void log_eventlog_close(void);

/* An event with its own message ID (MSG_* from nlbctld_msg.h): always
 * reported to the Event Log when it is open. */
void log_event(int level, unsigned long id, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A line without an ID of its own: to the Event Log only at WARNING and
 * ERROR, under the generic IDs 91 and 92; INFO stays in the file. */
void log_write(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
