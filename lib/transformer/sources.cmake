# The transformer both towers share.
list(APPEND LIBCLIP_SOURCES
  transformer/activation.c
  transformer/attention.c
  transformer/layer_norm.c
  transformer/linear.c
  transformer/transformer.c
)

# The element-wise loops (activation, softmax, layer norm) are written to be
# vectorised; GCC does so only without FP-exception semantics (which libclip
# never inspects) and with its full cost model, whatever the build type. The
# exp() clamps must also become minps/maxps: as selects, both sides get
# computed per lane and the clamped side produces denormals, which cost ~100
# cycles each. That needs finite-math semantics, which holds for these two
# files' inputs (activations are finite unless the weights are not, and then
# the result is meaningless either way).
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  set(LIBCLIP_VECTOR_FLAGS -fno-trapping-math -ftree-vectorize -fvect-cost-model=dynamic)
  set_source_files_properties(transformer/layer_norm.c PROPERTIES COMPILE_OPTIONS "${LIBCLIP_VECTOR_FLAGS}")
  set_source_files_properties(transformer/activation.c transformer/attention.c PROPERTIES
    COMPILE_OPTIONS "${LIBCLIP_VECTOR_FLAGS};-ffinite-math-only;-fno-signed-zeros")
endif()
