# Sources of lib/image/ beyond the encoder handles listed in lib/CMakeLists.txt.
list(APPEND LIBCLIP_SOURCES
  image/decode.c
  image/decode_bmp.c
  image/decode_gif.c
  image/decode_jpeg.c
  image/decode_png.c
  image/decode_webp.c
  image/exif.c
  image/image_input.c
  image/pixels.c
  image/preprocess.c
  image/resample.c
)
