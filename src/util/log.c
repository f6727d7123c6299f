#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
	enum log_level level;
	char dir[PATH_MAX];
	int fd;
	int day; /* tm_yday + 1000 * tm_year of the open file, to roll over daily */
} logger = {LOG_LEVEL_INFO, "", -1, -1};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_open_dir(const char *dir)
{
	if (strlen(dir) >= sizeof(logger.dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	strcpy(logger.dir, dir);
	return 0;
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

void log_close(void)
{
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = -1;
	logger.day = -1;
	logger.dir[0] = '\0';
}

static void log_roll_file(const struct tm *tm)
{
	char path[PATH_MAX + 64];
	int day = tm->tm_yday + 1000 * tm->tm_year;

	if (!logger.dir[0] || day == logger.day)
		return;
	if (logger.fd >= 0)
		close(logger.fd);
	snprintf(path, sizeof(path), "%s/ray-%04d-%02d-%02d.log", logger.dir,
		 (tm->tm_year + 1900) % 10000, (tm->tm_mon + 1) % 100, tm->tm_mday % 100);
	logger.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	logger.day = day;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level < logger.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld %-5s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	log_roll_file(&tm);
	if (logger.fd >= 0 && write(logger.fd, line, n) < 0) {
		/* Disk full: stderr still has it. */
	}
}
