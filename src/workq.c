/* workq.c - fixed thread pool with an unbounded FIFO of small job records. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "workq.h"

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	int stopping;
	int nthreads;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	struct workq *q = arg;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		struct job *j = q->head; /* NULL: stopping, and nothing left */
		if (j) {
			q->head = j->next;
			if (!q->head)
				q->tail = NULL;
		}
		pthread_mutex_unlock(&q->lock);
		if (!j)
			return NULL;
		j->fn(j->arg);
		free(j);
	}
}

struct workq *workq_new(int nthreads, const char *name)
{
	struct workq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->threads = calloc((size_t)nthreads, sizeof(pthread_t));
	if (!q->threads) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
			log_error("%s: cannot start worker thread %d", name, i);
			break;
		}
		q->nthreads++;
	}
	if (q->nthreads == 0) {
		workq_free(q);
		return NULL;
	}
	return q;
}

int workq_submit(struct workq *q, void (*fn)(void *arg), void *arg)
{
	struct job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q->threads);
	free(q);
}
