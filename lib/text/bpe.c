/* BPE over a linked list of symbols with a min-heap of candidate merges
 * keyed by (rank, position). The reference merges every occurrence of the
 * best pair before looking at any other pair, so all heap entries of one
 * rank are taken as a batch, left to right, and the pairs the batch creates
 * join the heap only afterwards. Stale entries are skipped when popped. */
#include "text/bpe.h"

#include "common/alloc.h"
#include "common/error.h"

#define NO_SYMBOL UINT32_MAX

typedef struct candidate {
    uint32_t rank, left; /* left: position of the pair's first symbol */
} candidate;

typedef struct symbols {
    int32_t *id;
    uint32_t *prev, *next;
    unsigned char *dead;
    candidate *heap;
    size_t heap_len;
    uint32_t *merged; /* positions merged by the current batch */
    size_t merged_len;
} symbols;

static int before(candidate a, candidate b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.left < b.left);
}

static void heap_push(symbols *s, candidate c)
{
    size_t i = s->heap_len++;
    while (i > 0 && before(c, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = c;
}

static candidate heap_pop(symbols *s)
{
    candidate top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->heap_len)
            break;
        if (child + 1 < s->heap_len && before(s->heap[child + 1], s->heap[child]))
            child++;
        if (!before(s->heap[child], last))
            break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    if (s->heap_len > 0)
        s->heap[i] = last;
    return top;
}

/* Queues the pair starting at `left` if it has a merge. */
static void consider_pair(const lclip_bpe_vocab *v, symbols *s, uint32_t left)
{
    uint32_t rank;
    int32_t result;
    if (left != NO_SYMBOL && s->next[left] != NO_SYMBOL &&
        lclip_bpe_vocab_merge(v, s->id[left], s->id[s->next[left]], &rank, &result))
        heap_push(s, (candidate){rank, left});
}

/* Merges the pair at c.left if it is still the pair c was queued for. */
static void apply(const lclip_bpe_vocab *v, symbols *s, candidate c)
{
    uint32_t left = c.left, right, rank;
    int32_t result;
    if (s->dead[left] || (right = s->next[left]) == NO_SYMBOL)
        return;
    if (!lclip_bpe_vocab_merge(v, s->id[left], s->id[right], &rank, &result) || rank != c.rank)
        return; /* ranks are unique per pair, so a different rank means a different pair */
    s->id[left] = result;
    s->next[left] = s->next[right];
    if (s->next[right] != NO_SYMBOL)
        s->prev[s->next[right]] = left;
    s->dead[right] = 1;
    s->merged[s->merged_len++] = left;
}

static void run_merges(const lclip_bpe_vocab *v, symbols *s)
{
    while (s->heap_len > 0) {
        uint32_t rank = s->heap[0].rank;
        s->merged_len = 0;
        while (s->heap_len > 0 && s->heap[0].rank == rank)
            apply(v, s, heap_pop(s));
        for (size_t k = 0; k < s->merged_len; k++) {
            uint32_t at = s->merged[k];
            if (s->dead[at])
                continue;
            consider_pair(v, s, s->prev[at]);
            consider_pair(v, s, at);
        }
    }
}

static void free_symbols(symbols *s)
{
    lclip_free(s->id);
    lclip_free(s->prev);
    lclip_free(s->next);
    lclip_free(s->dead);
    lclip_free(s->heap);
    lclip_free(s->merged);
}

lclip_status lclip_bpe_encode(const lclip_bpe_vocab *v, const unsigned char *bytes, size_t n, int32_t *ids,
                              size_t *count)
{
    if (n >= INT32_MAX)
        return lclip_fail(LCLIP_E_TOO_LARGE, "a %zu-byte word is too long to tokenize", n);
    if (n == 1) { /* the reference's shortcut, same result */
        ids[0] = v->byte_end_id[bytes[0]];
        *count = 1;
        return LCLIP_OK;
    }
    symbols s = {0};
    s.id = lclip_malloc_array(n, sizeof *s.id);
    s.prev = lclip_malloc_array(n, sizeof *s.prev);
    s.next = lclip_malloc_array(n, sizeof *s.next);
    s.dead = lclip_calloc(n, 1);
    s.heap = lclip_malloc_array(n, 3 * sizeof *s.heap); /* n - 1 pairs, then at most 2 per merge */
    s.merged = lclip_malloc_array(n, sizeof *s.merged);
    if (!s.id || !s.prev || !s.next || !s.dead || !s.heap || !s.merged) {
        free_symbols(&s);
        return lclip_fail(LCLIP_E_NOMEM, "out of memory encoding a %zu-byte word", n);
    }
    for (size_t i = 0; i < n; i++) {
        s.id[i] = i + 1 == n ? v->byte_end_id[bytes[i]] : v->byte_id[bytes[i]];
        s.prev[i] = i == 0 ? NO_SYMBOL : (uint32_t)(i - 1);
        s.next[i] = i + 1 == n ? NO_SYMBOL : (uint32_t)(i + 1);
    }
    for (size_t i = 0; i + 1 < n; i++)
        consider_pair(v, &s, (uint32_t)i);
    run_merges(v, &s);
    size_t k = 0;
    for (uint32_t at = 0; at != NO_SYMBOL; at = s.next[at])
        ids[k++] = s.id[at];
    *count = k;
    free_symbols(&s);
    return LCLIP_OK;
}
