# herald_embed_text(target files header): turns each text file into a
# `constexpr std::string_view k<Stem>` in one generated header, so scripts
# such as the Redis Lua live in their own files yet ship inside the binary.
function(herald_embed_text target files header)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DOUT=${header} "-DFILES=${files}" -P ${CMAKE_SOURCE_DIR}/cmake/EmbedTextRun.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/EmbedTextRun.cmake
    COMMENT "Embedding ${target}")
  add_custom_target(${target} DEPENDS ${header})
endfunction()
