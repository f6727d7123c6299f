/* The relay server (`ray relay`, DESIGN.md §5): authenticated clients
 * exchange opaque frames addressed by node id over TCP (relay/relay_proto.h).
 * The same listener serves the record store over plain HTTP (GET and PUT
 * /records/ID, relay/record_store.h; path/record_client.h has the API), and
 * with config.stun_port UDP sockets on the listen address answer STUN
 * binding requests (path/stun.h) on that port and the one after it,
 * dual-stack when the address is [::].
 *
 * HTTP requests (upgrade or record) are one per connection: a head of at
 * most 8 KiB and, for PUT, a body of at most RECORD_MAX_LEN bytes, both
 * within config.auth_timeout_ms of connect; the answer carries
 * "Connection: close".
 *
 * One thread on the project's event loop, non-blocking sockets. Memory per
 * client is bounded: a partial-frame buffer (at most one frame) and a send
 * queue capped at config.queue_bytes; a client whose queue stays full longer
 * than config.slow_reader_ms is disconnected, frames for a full queue are
 * dropped and counted. SEND frames pass a per-client token bucket. One 1 s
 * sweep timer drives auth timeouts, keep-alives and slow-reader checks, so
 * the work per tick is one pass over the clients and no per-client timers. */
#ifndef RAY_RELAY_RELAY_SERVER_H
#define RAY_RELAY_RELAY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct relay_server;

struct relay_server_config {
	size_t max_payload;	      /* bigger frames are protocol errors (<= 65535) */
	size_t queue_bytes;	      /* per-client send queue cap */
	uint64_t rate_bytes_per_s;    /* SEND token bucket: sustained rate ... */
	uint64_t burst_bytes;	      /* ... and burst; 0 rate = unlimited */
	uint32_t auth_timeout_ms;     /* connect to CLIENT_AUTH */
	uint32_t ping_interval_ms;    /* PING a client silent this long */
	uint32_t idle_timeout_ms;     /* close a client silent this long */
	uint32_t slow_reader_ms;      /* close a client whose queue stays full this long */
	uint32_t summary_interval_ms; /* log a summary line this often, if anything happened */
	uint16_t stun_port;	      /* answer STUN on this UDP port of the listen address and the
				       * next one (an alternate destination); 0: off */
	size_t max_records;	      /* record store capacity */
};

/* Defaults: 65535, 256 KiB, 64 Mbit/s with a 1 MiB burst, 5 s, 30 s, 90 s,
 * 5 s, 60 s, STUN off, 100000 records. */
void relay_server_config_default(struct relay_server_config *c);

struct relay_counters {
	uint64_t clients;     /* authenticated clients now */
	uint64_t connections; /* open TCP connections now (any state) */
	uint64_t accepted;    /* connections accepted since start */
	uint64_t auth_ok, auth_failed, replaced;
	uint64_t frames_forwarded, bytes_forwarded; /* RECV frames queued, their payload bytes */
	uint64_t peer_gone_sent;
	uint64_t drop_no_peer;	  /* SEND to an id not connected */
	uint64_t drop_queue_full; /* destination's send queue full */
	uint64_t drop_rate_limit; /* sender over its token bucket */
	uint64_t closed_protocol; /* protocol errors (bad HTTP, bad frame, auth) */
	uint64_t closed_timeout;  /* no auth in time, or idle */
	uint64_t closed_slow;	  /* slow readers */
	uint64_t pings_sent;
	uint64_t stun_answered, stun_ignored; /* datagrams on the STUN port */
	uint64_t records;		      /* held in the record store now */
	uint64_t records_stored, records_refused, records_served;
};

/* Parse "HOST:PORT", "[V6]:PORT" or "[::]:PORT" (numeric hosts only) into SA.
 * Returns 0 or -EINVAL. */
int relay_server_parse_listen(const char *text, struct sockaddr_storage *sa, socklen_t *sa_len);

/* Listen on LISTEN and serve on LOOP; SERVER_PK is the relay's ed25519 public
 * key sent in every challenge. CONFIG NULL means defaults. The caller frees
 * *OUT with relay_server_free before freeing the loop. Returns 0 or -errno. */
int relay_server_new(struct loop *loop, const char *listen, const uint8_t server_pk[32],
		     const struct relay_server_config *config, struct relay_server **out);
/* Closes every connection and the listener. NULL is a no-op. */
void relay_server_free(struct relay_server *s);
/* The port actually bound (useful with port 0). */
uint16_t relay_server_port(const struct relay_server *s);
void relay_server_counters(const struct relay_server *s, struct relay_counters *c);

struct relay_options {
	const char *listen;			  /* e.g. "[::]:3340" */
	const char *state_dir;			  /* holds relay.key (created 0600) */
	uint16_t stun_port;			  /* UDP STUN responder; 0: none */
	const struct relay_server_config *config; /* NULL: defaults */
};

/* The whole `ray relay` process: raises RLIMIT_NOFILE to its hard limit,
 * loads or creates STATE_DIR/relay.key, serves until SIGTERM or SIGINT.
 * Returns the process exit status (0 on a clean stop). */
int relay_server_run(const struct relay_options *o);

#endif
