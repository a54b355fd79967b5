/* kahu — which backups prune removes: a decision over the catalog, with no I/O.
 *
 * Each backup is in one of four states (the caller decides which, having
 * authenticated the manifests with the key):
 *   GOOD       authenticated, Completed or PartiallyFailed: it holds a state of the
 *              cluster and counts for the policies;
 *   FAILED     authenticated, Failed: it holds nothing of its own (every type that
 *              failed, no other with an object); it never counts for a policy;
 *   UNTRUSTED  its manifest cannot be read or fails authentication: it is never
 *              removed on its word and counts for nothing;
 *   LEFTOVER   no manifest: what an interrupted run left (removed; the caller holds
 *              the location's lock, so no run is writing it).
 * Without a policy, GOOD and FAILED backups whose expiry has passed are removed.  With
 * policies (keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly,
 * keep-yearly), the GOOD backups are ordered newest first (completion time, then name)
 * and the union of what the policies keep is kept; every other GOOD backup and every
 * FAILED one is removed, so failed runs never displace a good backup.
 * A period policy keeps the newest backup of each of the N newest periods that have
 * one.  Periods are those of the local calendar of the policy's zone (UTC when none):
 * hours (the repeated hour when clocks go back counts as a second hour, told apart by
 * its offset), days, ISO 8601 weeks (Monday to Sunday; the week-based year), months,
 * years.  Last, whatever a kept backup builds on
 * (its parent and its chain's full backup, transitively) is kept, also when an
 * UNTRUSTED backup names it or it is a LEFTOVER (keeping more is always safe). */
#ifndef KAHU_ENGINE_RETENTION_H
#define KAHU_ENGINE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct tzif;

enum retention_state { RET_GOOD, RET_FAILED, RET_UNTRUSTED, RET_LEFTOVER };

/* -1: the policy was not given; 0 is a policy that keeps nothing.  zone: the periods'
 * time zone (util/tzif.h; the caller owns it), NULL for UTC. */
struct retention_policy {
	long last, daily, weekly, monthly, hourly, yearly;
	const struct tzif *zone;
};
#define RETENTION_POLICY_NONE { -1, -1, -1, -1, -1, -1, NULL }

enum retention_why {
	/* kept */
	RET_KEEP_UNEXPIRED,       /* no policy: not expired (or never expires) */
	RET_KEEP_LAST,            /* one of the --keep-last newest */
	RET_KEEP_HOURLY,
	RET_KEEP_DAILY,
	RET_KEEP_WEEKLY,
	RET_KEEP_MONTHLY,
	RET_KEEP_YEARLY,
	RET_KEEP_NEEDED,          /* a kept backup builds on it (needed_by) */
	RET_KEEP_UNTRUSTED,       /* its manifest cannot be trusted: left alone */
	/* removed */
	RET_REMOVE_EXPIRED,
	RET_REMOVE_UNKEPT,        /* no policy keeps it */
	RET_REMOVE_FAILED,        /* Failed, with policies: they never keep one */
	RET_REMOVE_LEFTOVER,
};

struct retention_entry {
	/* in */
	const char *name;
	enum retention_state state;
	int64_t completed;        /* seconds since the epoch: the policies' order and periods */
	int64_t expires;          /* 0: never */
	const char *parent, *base; /* the backups it builds on, or NULL */
	/* out */
	int remove;
	enum retention_why why;   /* the first reason found */
	size_t needed_by;         /* RET_KEEP_NEEDED: index of a kept backup building on it */
};

/* 1 when any policy is given. */
int retention_has_policy(const struct retention_policy *p);
/* Decide for every entry (now: for expiry).  Entries are not reordered. */
void retention_decide(struct retention_entry *v, size_t n, const struct retention_policy *p,
		      int64_t now);
/* "expired", "kept by --keep-last", …: for prune's output. */
const char *retention_why_text(enum retention_why w);

#endif
