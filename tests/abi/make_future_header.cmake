# cmake -DIN=include/libclip.h -DOUT=.../libclip.h -P make_future_header.cmake
# Writes the header of a later release as test_future_caller.c needs it: the
# current libclip.h with fields appended to the sized structs, as the next
# release will append its own (whole 8-byte units, "default" when zero).
file(READ "${IN}" text)
foreach(_struct_and_fields
        "lclip_options|    /* --- a later release (tests/abi) --- */\n    int future_a;\n    int future_b;\n"
        "lclip_batch_options|    void *later; /* a later release (tests/abi) */\n")
  string(FIND "${_struct_and_fields}" "|" _bar)
  string(SUBSTRING "${_struct_and_fields}" 0 ${_bar} _struct)
  math(EXPR _bar "${_bar} + 1")
  string(SUBSTRING "${_struct_and_fields}" ${_bar} -1 _fields)
  string(FIND "${text}" "\n} ${_struct};" _end)
  if(_end EQUAL -1)
    message(FATAL_ERROR "${IN}: no '} ${_struct};' line: make_future_header.cmake needs updating")
  endif()
  string(REPLACE "\n} ${_struct};" "\n${_fields}} ${_struct};" text "${text}")
endforeach()
file(WRITE "${OUT}" "/* Generated from ${IN} by tests/abi/make_future_header.cmake. */\n"
                    "#define LCLIP_TEST_FUTURE_HEADER 1\n${text}")
