/* kahu — a write-behind queue: bytes written here are handed, in blocks, to a function
 * that runs on a thread of its own (the one sender), so that the writer goes on
 * producing while the previous blocks are sent.
 *
 * Memory is flat: `nblocks` blocks of `block` bytes, allocated at open; a writer waits
 * while every block is queued.  The sender gets whole blocks (the last one, at finish,
 * may be shorter), in order.  Whatever `fn` uses is used by the sender alone from open
 * to finish or free: the writer's thread must not touch it meanwhile.
 *
 * Errors and cancellation go both ways:
 * - the sender's first error (its code and message, captured on its thread) ends the
 *   sender; the next write and finish return it as the writer's error (each time);
 * - once the run is cancelled (util/cancel.h), a write returns KAHU_EINTR, and the
 *   sender sends no further block (KAHU_EINTR, "interrupted"); a block being sent ends
 *   as `fn` ends on cancellation (pods/exec waits on the token's descriptor);
 * - when the writer gives up (an error of its own), kahu_writeq_free stops the sender
 *   after the block it is sending, drops the rest and joins it.
 * The thread is always joined: by finish, else by free.
 *
 * Functions return 0 or a negative kahu_err with the message set (util/err.h). */
#ifndef KAHU_UTIL_WRITEQ_H
#define KAHU_UTIL_WRITEQ_H

#include <stddef.h>

#define KAHU_WRITEQ_MAX_BLOCKS 16

/* What the sender does with a block: 0, or a negative kahu_err with its message. */
typedef int (*kahu_writeq_fn)(void *ud, const void *buf, size_t len);

struct kahu_writeq;

/* Starts the sender.  block > 0, 2 <= nblocks <= KAHU_WRITEQ_MAX_BLOCKS: the block the
 * writer fills, the one being sent, and those queued between them. */
int kahu_writeq_open(struct kahu_writeq **out, size_t block, unsigned nblocks, kahu_writeq_fn fn,
		     void *ud);
/* Copies `len` bytes into the queue; waits for a free block when all are queued. */
int kahu_writeq_write(struct kahu_writeq *q, const void *buf, size_t len);
/* Hands over what is left, waits until everything was sent and joins the sender. */
int kahu_writeq_finish(struct kahu_writeq *q);
/* Stops the sender unless finished (what is queued is dropped), joins it, frees. */
void kahu_writeq_free(struct kahu_writeq *q);
/* Blocks the sender has sent so far (tests). */
unsigned long long kahu_writeq_sent_blocks(struct kahu_writeq *q);

#endif
