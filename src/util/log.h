/* Logging to stderr and to a daily file under the state directory. */
#ifndef RAY_UTIL_LOG_H
#define RAY_UTIL_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Start writing to DIR/ray-YYYY-MM-DD.log as well as stderr; DIR is created
 * 0700 if missing. Without a call to log_open_dir, logs go to stderr only. */
int log_open_dir(const char *dir);
void log_set_level(enum log_level level);
void log_close(void);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
