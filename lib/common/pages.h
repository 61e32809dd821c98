/* Page-level hints to the OS: the memory half of the OS layer (file.c maps
 * files). Only hints: where the OS lacks them they do nothing, and nothing
 * depends on them but speed. */
#ifndef LCLIP_COMMON_PAGES_H
#define LCLIP_COMMON_PAGES_H

#include <stddef.h>

/* Map every whole page of [addr, addr + len) in now, with one system call,
 * instead of one page fault per 4 KiB page when it is first touched: in a
 * virtual machine each fault is a trap to the hypervisor, and a fresh
 * 17 MB scratch or a 350 MB packed weight copy takes thousands of them.
 * _write: memory about to be written (anonymous memory, zeroed by the
 * kernel); _read: a file's mapping about to be read (its page-cache pages,
 * read in from disk where they are not there yet). Linux 5.14 and later;
 * no-ops elsewhere. */
void lclip_pages_populate_write(void *addr, size_t len);
void lclip_pages_populate_read(const void *addr, size_t len);

/* Gives the whole pages of [addr, addr + len) back to the OS
 * (MADV_DONTNEED): a file mapping's pages are read from the file again if
 * touched; no-op where madvise is missing. */
void lclip_pages_discard(const void *addr, size_t len);

#endif
