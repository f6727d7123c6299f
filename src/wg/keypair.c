#include "wg/keypair.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static uint64_t age(uint64_t birth, uint64_t now)
{
	return now > birth ? now - birth : 0;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void wg_keypairs_init(struct wg_keypairs *kps, const struct wg_timer_config *cfg,
		      wg_keypair_index_drop_fn index_drop, void *arg)
{
	memset(kps, 0, sizeof(*kps));
	kps->kps_cfg = cfg ? cfg : &wg_timer_config_defaults;
	kps->kps_index_drop = index_drop;
	kps->kps_arg = arg;
}

static void keypair_destroy(struct wg_keypairs *kps, struct wg_keypair *kp)
{
	if (kp == NULL || !kp->kp_valid)
		return;
	if (kps->kps_index_drop)
		kps->kps_index_drop(kps->kps_arg, kp->kp_local_index);
	for (unsigned lane = 0; lane < WG_LANES; lane++)
		wg_aead_destroy(&kp->kp_aead[lane]);
	sodium_memzero(kp, sizeof(*kp));
}

void wg_keypairs_clear(struct wg_keypairs *kps)
{
	int i;

	for (i = 0; i < 3; i++)
		keypair_destroy(kps, &kps->kps_slot[i]);
	kps->kps_current = kps->kps_previous = kps->kps_next = NULL;
}

int wg_keypairs_install(struct wg_keypairs *kps, bool initiator, const uint8_t send_key[WG_KEY_LEN],
			const uint8_t recv_key[WG_KEY_LEN], uint32_t local_index,
			uint32_t remote_index, uint64_t now)
{
	struct wg_aead aead[WG_LANES];
	struct wg_keypair *kp = NULL;
	unsigned lane;
	int i, ret;

	/* The only step that can fail comes first, before any rotation. */
	for (lane = 0; lane < WG_LANES; lane++) {
		ret = wg_aead_init(&aead[lane], send_key, recv_key);
		if (ret < 0) {
			while (lane-- > 0)
				wg_aead_destroy(&aead[lane]);
			return ret;
		}
	}

	if (initiator) {
		/* An unconfirmed next is still better than current: it is newer
		 * and the peer has it, so it becomes previous. */
		keypair_destroy(kps, kps->kps_previous);
		if (kps->kps_next) {
			kps->kps_previous = kps->kps_next;
			kps->kps_next = NULL;
			keypair_destroy(kps, kps->kps_current);
		} else {
			kps->kps_previous = kps->kps_current;
		}
		kps->kps_current = NULL;
	} else {
		/* Current stays until the initiator proves it has the new one. */
		keypair_destroy(kps, kps->kps_next);
		keypair_destroy(kps, kps->kps_previous);
		kps->kps_next = NULL;
		kps->kps_previous = NULL;
	}

	for (i = 0; i < 3 && kp == NULL; i++)
		if (!kps->kps_slot[i].kp_valid)
			kp = &kps->kps_slot[i];

	if (kp == NULL) {
		/* Unreachable: rotation above always frees a slot. */
		for (lane = 0; lane < WG_LANES; lane++)
			wg_aead_destroy(&aead[lane]);
		return -ENOSPC;
	}
	memset(kp, 0, sizeof(*kp));
	kp->kp_valid = true;
	kp->kp_initiator = initiator;
	kp->kp_local_index = local_index;
	kp->kp_remote_index = remote_index;
	kp->kp_birthdate = now;
	wg_replay_init(&kp->kp_replay);
	memcpy(kp->kp_aead, aead, sizeof(aead));
	if (initiator)
		kps->kps_current = kp;
	else
		kps->kps_next = kp;
	return 0;
}

struct wg_keypair *wg_keypairs_lookup(struct wg_keypairs *kps, uint32_t index)
{
	struct wg_keypair *cand[3] = {kps->kps_current, kps->kps_previous, kps->kps_next};
	int i;

	for (i = 0; i < 3; i++)
		if (cand[i] && cand[i]->kp_valid && cand[i]->kp_local_index == index)
			return cand[i];
	return NULL;
}

static size_t padded_len(size_t len, size_t mtu)
{
	size_t padded = (len + WG_DATA_PADDING - 1) & ~(size_t)(WG_DATA_PADDING - 1);

	if (mtu && padded > mtu)
		padded = len > mtu ? len : mtu;
	return padded;
}

int wg_keypairs_encrypt_prepare(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t size,
				size_t plain_len, size_t mtu, size_t *out_len,
				struct wg_crypto_job *job)
{
	const struct wg_timer_config *cfg = kps->kps_cfg;
	struct wg_keypair *kp = kps->kps_current;
	size_t padded;
	uint64_t counter;
	int flags = 0;

	if (kp == NULL || !kp->kp_valid)
		return -ENOKEY;
	if (age(kp->kp_birthdate, now) >= cfg->tc_reject_after_time ||
	    kp->kp_send_counter >= cfg->tc_reject_after_messages)
		return -EKEYEXPIRED;
	if (plain_len > SIZE_MAX - WG_DATA_MIN_LEN - WG_DATA_PADDING)
		return -EMSGSIZE;
	padded = padded_len(plain_len, mtu);
	if (size < WG_DATA_MIN_LEN + padded)
		return -EMSGSIZE;

	counter = kp->kp_send_counter++;
	memset(buf + WG_DATA_HEADER_LEN + plain_len, 0, padded - plain_len);
	buf[0] = WG_MSG_DATA;
	buf[1] = buf[2] = buf[3] = 0;
	wg_le32_put(buf + WG_DATA_OFF_RECEIVER, kp->kp_remote_index);
	wg_le64_put(buf + WG_DATA_OFF_COUNTER, counter);
	*job = (struct wg_crypto_job){
		.kp = kp,
		.data = buf + WG_DATA_HEADER_LEN,
		.len = padded,
		.counter = counter,
		.index = kp->kp_local_index,
		.open = false,
	};
	*out_len = WG_DATA_MIN_LEN + padded;

	if (kp->kp_send_counter >= cfg->tc_rekey_after_messages ||
	    (kp->kp_initiator && age(kp->kp_birthdate, now) >= cfg->tc_rekey_after_time))
		flags |= WG_KEYPAIR_F_REKEY;
	return flags;
}

void wg_crypto_job_run(struct wg_crypto_job *job, unsigned lane)
{
	struct wg_aead *ae = &job->kp->kp_aead[lane % WG_LANES];

	if (job->open)
		job->verdict =
			wg_aead_open(ae, job->counter, job->data, job->len, job->data + job->len);
	else
		job->verdict =
			wg_aead_seal(ae, job->counter, job->data, job->len, job->data + job->len);
}

int wg_keypairs_encrypt(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t size,
			size_t plain_len, size_t mtu, size_t *out_len)
{
	struct wg_crypto_job job;
	int flags = wg_keypairs_encrypt_prepare(kps, now, buf, size, plain_len, mtu, out_len, &job);

	if (flags < 0)
		return flags;
	wg_crypto_job_run(&job, 0);
	return job.verdict < 0 ? job.verdict : flags;
}

int wg_keypairs_decrypt_prepare(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t len,
				struct wg_crypto_job *job)
{
	const struct wg_timer_config *cfg = kps->kps_cfg;
	struct wg_keypair *kp;
	uint64_t counter;

	if (wg_msg_type(buf, len) != WG_MSG_DATA)
		return -EINVAL;
	kp = wg_keypairs_lookup(kps, wg_msg_receiver(buf));
	if (kp == NULL)
		return -ENOKEY;
	counter = wg_le64_get(buf + WG_DATA_OFF_COUNTER);
	if (age(kp->kp_birthdate, now) >= cfg->tc_reject_after_time ||
	    kp->kp_replay.rp_next >= cfg->tc_reject_after_messages)
		return -EKEYEXPIRED;
	if (counter >= cfg->tc_reject_after_messages)
		return -EALREADY;
	*job = (struct wg_crypto_job){
		.kp = kp,
		.data = buf + WG_DATA_HEADER_LEN,
		.len = len - WG_DATA_MIN_LEN,
		.counter = counter,
		.index = kp->kp_local_index,
		.open = true,
	};
	return 0;
}

int wg_keypairs_decrypt_finish(struct wg_keypairs *kps, uint64_t now,
			       const struct wg_crypto_job *job, size_t *plain_len)
{
	const struct wg_timer_config *cfg = kps->kps_cfg;
	struct wg_keypair *kp = job->kp, *cur;
	int flags = 0;

	if (job->verdict < 0)
		return -EBADMSG;
	/* An earlier packet of the batch may have confirmed a new keypair and
	 * destroyed this one. */
	if (!kp->kp_valid || kp->kp_local_index != job->index)
		return -ENOKEY;
	if (!wg_replay_check(&kp->kp_replay, job->counter))
		return -EALREADY;
	*plain_len = job->len;
	if (job->len == 0)
		flags |= WG_KEYPAIR_F_KEEPALIVE;

	if (kp == kps->kps_next) {
		/* The initiator used the new keypair: it is confirmed. */
		keypair_destroy(kps, kps->kps_previous);
		kps->kps_previous = kps->kps_current;
		kps->kps_current = kp;
		kps->kps_next = NULL;
		return flags | WG_KEYPAIR_F_CONFIRMED;
	}

	/* As initiator, rekey before the current keypair is rejected, even if
	 * we send nothing (whitepaper 6.2, "Rekey-After-Time" on receive). */
	cur = kps->kps_current;
	if (cur && cur->kp_initiator && !cur->kp_lastminute &&
	    age(cur->kp_birthdate, now) >=
		    sub_sat(cfg->tc_reject_after_time,
			    cfg->tc_keepalive_timeout + cfg->tc_rekey_timeout)) {
		cur->kp_lastminute = true;
		flags |= WG_KEYPAIR_F_REKEY;
	}
	return flags;
}

int wg_keypairs_decrypt(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t len,
			size_t *plain_len)
{
	struct wg_crypto_job job;
	int ret = wg_keypairs_decrypt_prepare(kps, now, buf, len, &job);

	if (ret < 0)
		return ret;
	wg_crypto_job_run(&job, 0);
	return wg_keypairs_decrypt_finish(kps, now, &job, plain_len);
}
