# Tests of lib/common/: lclip_add_test(NAME common/test_x.c [INTERNAL]).
lclip_add_test(team common/test_team.c INTERNAL)
target_link_libraries(test_team PRIVATE Threads::Threads)
