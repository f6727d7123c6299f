/* Whole-file reads and crash-safe writes. */
#ifndef RAY_UTIL_FILEIO_H
#define RAY_UTIL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Replace PATH with DATA atomically: write a temporary file in the same
 * directory, fsync it, rename it over PATH, fsync the directory. A crash at
 * any moment leaves either the old or the new content. Returns 0 or -errno. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Overwrite PATH (following a symlink) with DATA in place: truncate, write,
 * fsync. Not crash-atomic; for files that cannot be replaced by rename (a
 * bind mount, another package's symlink). Returns 0 or -errno. */
int file_write_in_place(const char *path, const void *data, size_t len);

/* Read all of PATH into a NUL-terminated malloc'd buffer the caller frees.
 * Refuses files larger than MAX bytes (-EFBIG). Returns 0 or -errno. */
int file_read_all(const char *path, size_t max, char **out, size_t *out_len);

/* Remove temporary files a crash in file_write_atomic left behind in DIR. */
void file_remove_stale_temps(const char *dir);

/* mkdir -p with MODE for the directories it creates. Returns 0 or -errno. */
int file_mkdirs(const char *path, mode_t mode);

#endif
