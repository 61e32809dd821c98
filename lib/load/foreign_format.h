/* Naming the model formats that are not safetensors: a user handed a PyTorch
 * checkpoint, a GGUF file or a config file hears what it is (and how to
 * convert a PyTorch one), not a parse error about a nonsensical header
 * length. Recognised by their first bytes only; nothing else is parsed. */
#ifndef LCLIP_LOAD_FOREIGN_FORMAT_H
#define LCLIP_LOAD_FOREIGN_FORMAT_H

#include <stddef.h>

#include "libclip.h"

/* The failure that names the format of data (size bytes, label in the
 * message): LCLIP_E_UNSUPPORTED for another model format (PyTorch pickle or
 * zip, GGUF, ONNX), LCLIP_E_FORMAT for text. LCLIP_OK when the first bytes
 * match none of them. */
lclip_status lclip_name_foreign_format(const unsigned char *data, size_t size, const char *label);

/* LCLIP_E_UNSUPPORTED for the PyTorch checkpoint at path, with a one-line
 * conversion to safetensors. */
lclip_status lclip_fail_pytorch_checkpoint(const char *path);

#endif
