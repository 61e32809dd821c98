# Tests of lib/text/: lclip_add_test(NAME text/test_x.c [INTERNAL]).
lclip_add_test(tokenizer text/test_tokenizer.c INTERNAL)
# The 1 MiB single-word cases take about 1 s (20 s under ASan, minutes under
# Valgrind); a quadratic BPE would take hours, and this bound catches it.
set_tests_properties(tokenizer PROPERTIES TIMEOUT 900)
lclip_add_test(vocab_json text/test_vocab_json.c INTERNAL)
