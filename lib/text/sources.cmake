# Sources of lib/text/ beyond the encoder handles listed in lib/CMakeLists.txt.
list(APPEND LIBCLIP_SOURCES
  text/badness.c
  text/bpe.c
  text/builtin_vocab.c
  text/codepoints.c
  text/html_entities.c
  text/html_unescape.c
  text/mojibake.c
  text/pretokenize.c
  text/text_clean.c
  text/tokenizer.c
  text/unicode_tables.c
  text/vocab.c
  text/vocab_choice.c
  text/vocab_json.c
)
