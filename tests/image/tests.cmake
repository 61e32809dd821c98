# Tests of lib/image/: lclip_add_test(NAME image/test_x.c [INTERNAL]).
lclip_add_test(image_preprocess image/test_image_preprocess.c image/image_test_util.c INTERNAL)
lclip_add_test(image_hostile image/test_image_hostile.c image/image_test_util.c INTERNAL)
lclip_add_test(image_formats image/test_formats.c image/image_test_util.c INTERNAL)
# libwebpmux only here: it assembles the animated WebPs the test decodes.
pkg_check_modules(WEBPMUX REQUIRED IMPORTED_TARGET libwebpmux)
target_link_libraries(test_image_formats PRIVATE PkgConfig::WEBPMUX)
