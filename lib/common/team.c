#define _POSIX_C_SOURCE 200809L

#include "common/team.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "common/alloc.h"

/* Waiting is polling, first with PAUSE, then yielding the core (with more
 * members than cores, the member being waited for may need it), then, for a
 * helper, sleeping. The polling covers the gaps between the steps of a pass
 * (microseconds) but not the decoding between passes (milliseconds). PAUSE
 * comes first, 1024 rounds (19 us on a Zen 5; a PAUSE takes 10-140 cycles
 * by CPU): sched_yield is a system call, which a hypervisor may trap, and a
 * member inside one sees the next step late. ViT-B/32 on 2 threads in a VM,
 * against 64 rounds: a single caption 3-8% faster, images about 1%. */
#define PAUSE_ROUNDS 1024
#define POLL_ROUNDS 4096

typedef struct member {
    struct lclip_team *team;
    int part;
    pthread_t thread;
} member;

struct lclip_team {
    int size; /* members, the calling thread included */
    lclip_task task;
    void *ctx;
    atomic_uint step;       /* bumped to start a step (release) */
    atomic_int unfinished;  /* helpers still in the current step */
    atomic_int quitting;
    pthread_mutex_t lock;   /* guards sleepers and the wake-up */
    pthread_cond_t wake;
    int sleepers;
    member members[];       /* [0] is the calling thread's, unused */
};

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void poll_pause(int round)
{
    if (round < PAUSE_ROUNDS)
        relax();
    else
        sched_yield();
}

static unsigned wait_for_step(lclip_team *t, unsigned seen)
{
    for (int round = 0; round < POLL_ROUNDS; round++) {
        unsigned step = atomic_load_explicit(&t->step, memory_order_acquire);
        if (step != seen)
            return step;
        poll_pause(round);
    }
    pthread_mutex_lock(&t->lock);
    t->sleepers++;
    unsigned step;
    while ((step = atomic_load_explicit(&t->step, memory_order_acquire)) == seen)
        pthread_cond_wait(&t->wake, &t->lock);
    t->sleepers--;
    pthread_mutex_unlock(&t->lock);
    return step;
}

static void *member_main(void *arg)
{
    member *self = arg;
    lclip_team *t = self->team;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_step(t, seen);
        if (atomic_load_explicit(&t->quitting, memory_order_acquire))
            return NULL;
        t->task(t->ctx, self->part, t->size);
        atomic_fetch_sub_explicit(&t->unfinished, 1, memory_order_release);
    }
}

/* Under the lock, so a helper that is about to sleep sees the new step. */
static void start_step(lclip_team *t)
{
    pthread_mutex_lock(&t->lock);
    atomic_fetch_add_explicit(&t->step, 1, memory_order_release);
    if (t->sleepers)
        pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);
}

lclip_team *lclip_team_start(int n)
{
    if (n <= 1)
        return NULL;
    lclip_team *t = lclip_calloc(1, sizeof *t + (size_t)n * sizeof t->members[0]);
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        lclip_free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->wake, NULL) != 0) {
        pthread_mutex_destroy(&t->lock);
        lclip_free(t);
        return NULL;
    }
    atomic_init(&t->step, 0);
    atomic_init(&t->unfinished, 0);
    atomic_init(&t->quitting, 0);
    /* Helpers read size only inside a step, after start_step published it.
     * They start with every signal blocked (a new thread inherits the mask). */
    sigset_t all, caller;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &caller);
    t->size = 1;
    while (t->size < n) {
        member *m = &t->members[t->size];
        m->team = t;
        m->part = t->size;
        if (pthread_create(&m->thread, NULL, member_main, m) != 0)
            break;
        t->size++;
    }
    pthread_sigmask(SIG_SETMASK, &caller, NULL);
    if (t->size == 1) {
        lclip_team_stop(t);
        return NULL;
    }
    return t;
}

void lclip_team_stop(lclip_team *t)
{
    if (!t)
        return;
    atomic_store_explicit(&t->quitting, 1, memory_order_release);
    start_step(t);
    for (int i = 1; i < t->size; i++)
        pthread_join(t->members[i].thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    lclip_free(t);
}

int lclip_team_size(const lclip_team *t)
{
    return t ? t->size : 1;
}

void lclip_team_run(lclip_team *t, lclip_task task, void *ctx)
{
    if (!t) {
        task(ctx, 0, 1);
        return;
    }
    /* The previous step is over (every helper has counted down), so no
     * helper reads task or ctx while they change. */
    t->task = task;
    t->ctx = ctx;
    atomic_store_explicit(&t->unfinished, t->size - 1, memory_order_relaxed);
    start_step(t);
    task(ctx, 0, t->size);
    for (int round = 0; atomic_load_explicit(&t->unfinished, memory_order_acquire) != 0;) {
        poll_pause(round);
        round += round < PAUSE_ROUNDS;
    }
}

void lclip_team_share(size_t count, size_t align, int part, int parts, size_t *begin, size_t *end)
{
    size_t units = (count + align - 1) / align;
    size_t first = units * (size_t)part / (size_t)parts, last = units * (size_t)(part + 1) / (size_t)parts;
    *begin = first * align < count ? first * align : count;
    *end = last * align < count ? last * align : count;
}
