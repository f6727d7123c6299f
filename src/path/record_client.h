/* Publishing and fetching signed records (path/record.h) at a relay's record
 * store over HTTP/1.1, one short connection per request:
 *
 *   PUT /records/ID   body: the record bytes (Content-Length, at most
 *                     RECORD_MAX_LEN); ID is the signer's key in z-base-32
 *   GET /records/ID   200 with the record bytes, 404 when none is stored
 *
 * Answers of the store: 204 stored; 400 malformed request or record, or ID
 * not the record's signer; 403 bad signature; 404 none; 409 not newer than
 * the stored one (same timestamp is a 409 too, so a retried PUT is told);
 * 410 expired; 413 too big; 503 store full.
 *
 * Runs on the daemon's event loop, non-blocking, bounded by a timeout. The
 * reader verifies a fetched record itself (record_parse_verify) and that its
 * signer is the id it asked for; it never trusts the relay. */
#ifndef RAY_PATH_RECORD_CLIENT_H
#define RAY_PATH_RECORD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "path/record.h"

struct loop;
struct record_request;

/* STATUS: 0 on success; the HTTP status mapped to -errno (404 -ENOENT,
 * 409 -EALREADY, 410 -ESTALE, 413 -EMSGSIZE, 403 -EKEYREJECTED, 400
 * -EBADMSG, 503 -EBUSY, other -EPROTO); -ETIMEDOUT; -ECONNREFUSED etc. for
 * connection errors; for a fetch, any error of record_parse_verify on the
 * answer, or -EKEYREJECTED when it is signed by another key. R is the
 * verified record on a successful fetch, NULL otherwise. */
typedef void (*record_request_cb)(void *arg, int status, const struct record *r);

/* PUT the signed record BUF (LEN bytes) by SIGNER to the relay at URL
 * ("http://HOST:PORT"). CB runs exactly once, later (never from inside this
 * call), unless this returns an error. *OUT (may be NULL) lets the caller
 * cancel. Returns 0 or -EINVAL / -ENOMEM / -errno of socket setup. */
int record_client_put(struct loop *loop, const char *url, const uint8_t signer[32],
		      const uint8_t *buf, size_t len, uint64_t timeout_ms, record_request_cb cb,
		      void *arg, struct record_request **out);
/* GET the record of SIGNER from the relay at URL and verify it. */
int record_client_get(struct loop *loop, const char *url, const uint8_t signer[32],
		      uint64_t timeout_ms, record_request_cb cb, void *arg,
		      struct record_request **out);
/* Abandon a request: its callback will not run. */
void record_client_cancel(struct record_request *req);

#endif
