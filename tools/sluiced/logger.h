/* logger.h: leveled log lines on stderr: "2026-11-23T08:46:22.123Z info  message".
 *
 * The threshold is the one piece of process-wide state of the daemon: set
 * once by main before any thread starts (sl_logger_set_level), read-only
 * after that. Lines are written with one write(2) each, so threads do not
 * interleave within a line. */
#ifndef SLUICE_SLUICED_LOGGER_H
#define SLUICE_SLUICED_LOGGER_H

typedef enum sl_log_level { SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG } sl_log_level;

/* Parse "error", "warn", "info", "debug". Returns 0, or -1 if unknown. */
int sl_log_level_parse(const char *name, sl_log_level *out);

void sl_logger_set_level(sl_log_level level);

void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sl_log_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define sl_log_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_log_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_log_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
