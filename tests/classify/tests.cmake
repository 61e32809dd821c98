# Tests of lib/classify/: zero-shot against the reference, the file, apply,
# bad input; the linear probe against scikit-learn.
lclip_add_test(classifier classify/test_classifier.c)
target_link_libraries(test_classifier PRIVATE ZLIB::ZLIB Threads::Threads)
# scikit-learn (python3-sklearn, a test dependency) gives the reference
# probabilities; without it, or without /usr/bin/python3, those cases skip.
lclip_add_test(probe classify/test_probe.c)
target_compile_definitions(test_probe PRIVATE LCLIP_PYTHON3="/usr/bin/python3"
                           LCLIP_PROBE_REFERENCE="${CMAKE_CURRENT_SOURCE_DIR}/classify/probe_reference.py")
