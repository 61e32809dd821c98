# The engine layer under the linear layers (gemm.h).
list(APPEND LIBCLIP_SOURCES
  gemm/gemm.c
  gemm/gemm_cblas.c
)
if(LIBCLIP_HAVE_ONEDNN)
  list(APPEND LIBCLIP_SOURCES gemm/gemm_onednn.c gemm/conv_onednn.c)
endif()
