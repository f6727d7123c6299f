/* The firewall in the daemon (firewall/firewall.h does the filtering): its
 * rules file STATE_DIR/firewall.json, the `ray firewall` commands, and the
 * rules the coordinators of our networks suggest in their signed rosters.
 *
 * Suggestions: on every roster change each network's suggested rules are
 * materialized for this node (those for its hostname or "*", a peer named
 * by hostname resolved to that member's id; a rule whose peer has not
 * joined waits for it). With auto-accept on for the network they replace
 * that network's installed rules at once; otherwise new ones wait in
 * `pending` for accept or deny, installed ones the coordinators still
 * suggest stay, and withdrawn ones go. A denied suggestion is remembered and
 * not offered again while the coordinators keep it unchanged. Local rules
 * are never touched by any of this. */
#ifndef RAY_DAEMON_FWSERVICE_H
#define RAY_DAEMON_FWSERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct ipc_request;

/* Loads firewall.json (absent: the defaults) and puts the filter in the
 * session's data path. A damaged file is an error (ERR), not a silent
 * reset to defaults. Before the networks load. */
int fwservice_start(struct daemon *d, char *err, size_t err_len);
void fwservice_stop(struct daemon *d);

/* The rosters changed: network tags, suggestions. */
void fwservice_update(struct daemon *d);
/* Auto-accept ROOM's suggested rules (a join with --auto-accept-firewall). */
void fwservice_set_auto_accept(struct daemon *d, const uint8_t room[32], bool on);
/* We left network ROOM: its rules, pending and denied suggestions go. */
void fwservice_network_gone(struct daemon *d, const uint8_t room[32]);

/* IPC: "firewall" {op, ...} changes; "firewall-show" {network?} reads
 * (op "show", "suggestions", "pending"). */
json_t *fwservice_cmd(struct daemon *d, json_t *args);
json_t *fwservice_cmd_show(struct daemon *d, json_t *args);
/* For `ray status`. */
json_t *fwservice_status(struct daemon *d);

#endif
