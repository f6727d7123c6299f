/* Work spread over two threads: see session/parallel.h.
 *
 * One 64-bit word says which batch is on and which item is next:
 * generation (32 bits) | items (16) | next item (16). A thread claims an item
 * with a compare-and-swap on it, so a helper that wakes after the batch it
 * was woken for has ended (its generation or count no longer match) claims
 * nothing. The batch's function and argument are written before the word
 * publishes a generation and rewritten only after every item of it is done,
 * so a thread that claimed an item reads them safely. */
#include "session/parallel.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPINS_BEFORE_YIELD 256

struct parallel {
	pthread_t helper;
	bool helper_started;
	uint32_t generation; /* the caller's count of batches */
	_Atomic uint64_t claim;
	_Atomic uint32_t wake; /* the futex: the generation to work on */
	_Atomic uint32_t sleeping;
	_Atomic bool stop;
	_Atomic size_t done;
	_Atomic(parallel_fn) fn;
	_Atomic(void *) arg;
	uint64_t runs, items;
	_Atomic uint64_t helper_items;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t claim_word(uint32_t generation, size_t n, size_t next)
{
	return (uint64_t)generation << 32 | (uint64_t)n << 16 | (uint64_t)next;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Claim the next item of GENERATION: true with *ITEM set, false when it has
 * none left (or is over). */
static bool parallel_claim(struct parallel *p, uint32_t generation, size_t *item)
{
	uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);

	for (;;) {
		size_t n = (size_t)(c >> 16 & 0xffff), next = (size_t)(c & 0xffff);

		if ((uint32_t)(c >> 32) != generation || next >= n)
			return false;
		if (atomic_compare_exchange_weak_explicit(
			    &p->claim, &c, c + 1, memory_order_acq_rel, memory_order_acquire)) {
			*item = next;
			return true;
		}
	}
}

static size_t parallel_work(struct parallel *p, uint32_t generation, unsigned lane)
{
	size_t item, did = 0;

	while (parallel_claim(p, generation, &item)) {
		parallel_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);

		fn(atomic_load_explicit(&p->arg, memory_order_relaxed), item, lane);
		atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
		did++;
	}
	return did;
}

static void *parallel_helper(void *arg)
{
	struct parallel *p = arg;
	uint32_t seen = 0;

	for (;;) {
		uint32_t g = atomic_load(&p->wake);

		if (atomic_load(&p->stop))
			return NULL;
		if (g == seen) {
			/* Sleeping is set before the futex rechecks WAKE: the caller
			 * stores WAKE, then reads SLEEPING (both sequentially
			 * consistent), so one of us sees the other. */
			atomic_store(&p->sleeping, 1);
			if (atomic_load(&p->wake) == seen && !atomic_load(&p->stop))
				futex_wait(&p->wake, seen);
			atomic_store(&p->sleeping, 0);
			continue;
		}
		seen = g;
		atomic_fetch_add_explicit(&p->helper_items, parallel_work(p, g, 1),
					  memory_order_relaxed);
	}
}

int parallel_new(struct parallel **out, unsigned threads)
{
	struct parallel *p;
	sigset_t all, old;
	int ret;

	*out = NULL;
	if (threads < 1 || threads > 2)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (threads > 1) {
		/* Signals are the event loop's: the helper takes none. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		ret = pthread_create(&p->helper, NULL, parallel_helper, p);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (ret != 0) {
			free(p);
			return -ret;
		}
		p->helper_started = true;
	}
	*out = p;
	return 0;
}

void parallel_free(struct parallel *p)
{
	if (!p)
		return;
	if (p->helper_started) {
		atomic_store(&p->stop, true);
		atomic_fetch_add(&p->wake, 1);
		futex_wake(&p->wake);
		pthread_join(p->helper, NULL);
	}
	free(p);
}

void parallel_get_stats(const struct parallel *p, struct parallel_stats *st)
{
	st->runs = p->runs;
	st->items = p->items;
	st->helper_items = atomic_load_explicit(&p->helper_items, memory_order_relaxed);
}

unsigned parallel_threads(const struct parallel *p)
{
	return p->helper_started ? 2 : 1;
}

void parallel_run(struct parallel *p, parallel_fn fn, void *arg, size_t n)
{
	unsigned spins = 0;

	if (!p->helper_started || n < PARALLEL_MIN_ITEMS || n > PARALLEL_MAX_ITEMS) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i, 0);
		return;
	}
	p->runs++;
	p->items += n;
	atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
	atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	p->generation++;
	if (p->generation == 0)
		p->generation = 1; /* 0 is the helper's "seen nothing yet" */
	atomic_store_explicit(&p->claim, claim_word(p->generation, n, 0), memory_order_release);
	atomic_store(&p->wake, p->generation);
	if (atomic_load(&p->sleeping))
		futex_wake(&p->wake);
	parallel_work(p, p->generation, 0);
	/* At most the helper's one claimed item is left. */
	while (atomic_load_explicit(&p->done, memory_order_acquire) < n) {
		if (++spins < SPINS_BEFORE_YIELD)
			cpu_relax();
		else
			sched_yield();
	}
}
