# Tests of lib/transformer/: lclip_add_test(NAME transformer/test_x.c [INTERNAL]).
lclip_add_test(towers transformer/test_towers.c INTERNAL)
lclip_add_test(activation transformer/test_activation.c INTERNAL)
lclip_add_test(team_steps transformer/test_team_steps.c INTERNAL)
lclip_add_test(attention transformer/test_attention.c INTERNAL)
