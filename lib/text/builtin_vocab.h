/* libclip's own copy of OpenAI's bpe_simple_vocab_16e6.txt.gz, installed
 * under <datadir>/libclip/: the vocabulary of a text encoder whose checkpoint
 * carries none and whose options name none (open_clip hub checkpoints). */
#ifndef LCLIP_TEXT_BUILTIN_VOCAB_H
#define LCLIP_TEXT_BUILTIN_VOCAB_H

#include "libclip.h"

/* The copy's absolute path (to lclip_free), or NULL when there is none.
 * Looked for, in order, relative to the file this code was loaded from
 * (libclip.so, or the executable libclip.a went into): where the install
 * puts it (<libdir>/../share/libclip for the usual layout, so a prefix moved
 * elsewhere still finds it), where the build tree keeps it; then at the
 * install prefix configured at build time. Fails only when out of memory. */
lclip_status lclip_builtin_vocab_path(char **out);

#endif
