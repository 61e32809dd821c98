# Tests of lib/text/: lclip_add_test(NAME text/test_x.c [INTERNAL]).
lclip_add_test(tokenizer text/test_tokenizer.c INTERNAL)
