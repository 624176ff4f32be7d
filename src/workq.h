/* workq.h - a fixed pool of threads running queued jobs in FIFO order.
 *
 * Promises: workq_submit never blocks on the work itself; jobs never run
 * after workq_free returns (it drains the queue first). A job must not
 * wait for another job of the same queue (that can deadlock a full pool):
 * orchestration waits in its caller's thread or in a second queue. */
#ifndef S3CSFS_WORKQ_H
#define S3CSFS_WORKQ_H

struct workq;

struct workq *workq_new(int nthreads, const char *name);
/* Returns 0, or -ENOMEM (the job did not run and will not). */
int workq_submit(struct workq *q, void (*fn)(void *arg), void *arg);
void workq_free(struct workq *q);

#endif
