/* A batch's work spread over the calling thread and one helper thread: the
 * data path's crypto on both cores (DESIGN.md §4).
 *
 * parallel_run(P, FN, ARG, N) calls FN(ARG, I, LANE) once for each I in
 * [0, N), on this thread (lane 0) or the helper (lane 1), and returns when
 * all have returned. Items are claimed one at a time, so a helper that wakes
 * late takes fewer and the caller never waits on more than one item in
 * flight. Small batches run on the caller alone: waking a thread costs more
 * than they do. Nothing is allocated or locked per batch; the helper sleeps
 * on a futex between batches and spins never.
 *
 * Only the thread that created P calls parallel_run. FN must be safe to run
 * for different items on two threads at once. */
#ifndef RAY_SESSION_PARALLEL_H
#define RAY_SESSION_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#define PARALLEL_MIN_ITEMS 4	 /* smaller batches stay on the caller */
#define PARALLEL_MAX_ITEMS 65535 /* items of one parallel_run */

typedef void (*parallel_fn)(void *arg, size_t i, unsigned lane);

struct parallel;

/* THREADS 1: no helper (everything on the caller); 2: one helper. Returns
 * 0 or -errno (-EINVAL, -ENOMEM, pthread_create's error). */
int parallel_new(struct parallel **out, unsigned threads);
/* Stops and joins the helper. NULL is fine. */
void parallel_free(struct parallel *p);
unsigned parallel_threads(const struct parallel *p);

struct parallel_stats {
	uint64_t runs, items;  /* parallel_run calls that went to both threads, their items */
	uint64_t helper_items; /* of those, done by the helper */
};
void parallel_get_stats(const struct parallel *p, struct parallel_stats *st);

/* N <= PARALLEL_MAX_ITEMS. */
void parallel_run(struct parallel *p, parallel_fn fn, void *arg, size_t n);

#endif
