#define _GNU_SOURCE /* sched_getcpu */

#include "common/team.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "common/alloc.h"

/* Waiting is polling, first with PAUSE, then yielding the core (with more
 * members than cores, the member being waited for may need it), then, for a
 * helper, sleeping. The polling covers the gaps between the steps of a pass
 * (microseconds) but not the decoding between passes (milliseconds).
 * PAUSE comes first, 1024 rounds (19 us on a Zen 5; a PAUSE takes 10-140
 * cycles by CPU): sched_yield is a system call, which a hypervisor may
 * trap, and a member inside one sees the next step late. ViT-B/32 on 2
 * threads in a VM, against 64 rounds: a single caption 3-10% faster, images
 * about 1%. But where the member waited for last ran on the waiter's own
 * CPU, or where either CPU is unknown (before a member's first step; always
 * off Linux), it may need that CPU: 64 rounds. A new helper sometimes
 * starts on its caller's CPU and stays there for the call; with 1024
 * rounds both then spent most of a BF16 caption spinning in turn (10.5 ms
 * against 3.1, 200 context switches per call). */
#define PAUSE_ROUNDS 1024
#define PAUSE_ROUNDS_SHARED 64
#define POLL_ROUNDS 4096

typedef struct member {
    struct lclip_team *team;
    int part;
    pthread_t thread;
    atomic_int cpu; /* where it ran its last step; -1: unknown */
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
    member members[];       /* [0] is the calling thread's, its cpu alone used */
};

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int current_cpu(void)
{
#ifdef __linux__
    return sched_getcpu(); /* glibc reads rseq's or the vDSO's copy where it has one: no system call */
#else
    return -1;
#endif
}

static void note_cpu(member *m)
{
    atomic_store_explicit(&m->cpu, current_cpu(), memory_order_relaxed);
}

/* PAUSE rounds for a wait on members [first, last): the short count where
 * one of them last ran on this CPU, or a CPU is unknown. */
static int pause_rounds(lclip_team *t, int first, int last)
{
    int mine = current_cpu();
    for (int i = first; i < last; i++) {
        int theirs = atomic_load_explicit(&t->members[i].cpu, memory_order_relaxed);
        if (mine < 0 || theirs < 0 || theirs == mine)
            return PAUSE_ROUNDS_SHARED;
    }
    return PAUSE_ROUNDS;
}

static void poll_pause(int round, int pause_rounds)
{
    if (round < pause_rounds)
        relax();
    else
        sched_yield();
}

static unsigned wait_for_step(lclip_team *t, unsigned seen)
{
    int pauses = pause_rounds(t, 0, 1);
    for (int round = 0; round < POLL_ROUNDS; round++) {
        unsigned step = atomic_load_explicit(&t->step, memory_order_acquire);
        if (step != seen)
            return step;
        poll_pause(round, pauses);
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
        note_cpu(self);
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
    for (int i = 0; i < n; i++)
        atomic_init(&t->members[i].cpu, -1);
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
    note_cpu(&t->members[0]);
    start_step(t);
    task(ctx, 0, t->size);
    int pauses = pause_rounds(t, 1, t->size);
    for (int round = 0; atomic_load_explicit(&t->unfinished, memory_order_acquire) != 0;) {
        poll_pause(round, pauses);
        round += round < pauses;
    }
}

void lclip_team_share(size_t count, size_t align, int part, int parts, size_t *begin, size_t *end)
{
    size_t units = (count + align - 1) / align;
    size_t first = units * (size_t)part / (size_t)parts, last = units * (size_t)(part + 1) / (size_t)parts;
    *begin = first * align < count ? first * align : count;
    *end = last * align < count ? last * align : count;
}
