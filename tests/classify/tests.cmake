# Tests of lib/classify/: zero-shot against the reference, the file, apply,
# bad input; the linear probe against scikit-learn.
lclip_add_test(classifier classify/test_classifier.c)
target_link_libraries(test_classifier PRIVATE ZLIB::ZLIB)
