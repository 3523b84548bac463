# herald_embed_text(target files header [SUFFIX]): turns each text file into a
# `constexpr std::string_view k<Stem><Suffix>` in one generated header, so scripts
# such as the Redis Lua and the web pages live in their own files yet ship inside
# the binary. SUFFIX defaults to "Lua"; with SUFFIX EXT the file's extension is
# the suffix (index.html -> kIndexHtml).
function(herald_embed_text target files header)
  set(suffix Lua)
  if(ARGC GREATER 3)
    set(suffix ${ARGV3})
  endif()
  # A list cannot cross the command line as is: `|` separates the files there.
  string(REPLACE ";" "|" file_arg "${files}")
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DOUT=${header} "-DFILES=${file_arg}" -DSUFFIX=${suffix}
            -P ${CMAKE_SOURCE_DIR}/cmake/EmbedTextRun.cmake
    VERBATIM
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/EmbedTextRun.cmake
    COMMENT "Embedding ${target}")
  add_custom_target(${target} DEPENDS ${header})
endfunction()
