# The transformer both towers share.
list(APPEND LIBCLIP_SOURCES
  transformer/activation.c
  transformer/attention.c
  transformer/layer_norm.c
  transformer/linear.c
  transformer/transformer.c
)
