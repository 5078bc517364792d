# embed_files(<output.c> <symbol> <file>...)
#
# Generates a C file defining `const struct embedded_file <symbol>[]` (name, text) for the
# given text files, terminated by {NULL, NULL}.  Used for the schema migrations, so the
# binary carries exactly the SQL that sits in schema/.
function(embed_files output symbol)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DSYMBOL=${symbol} "-DFILES=${ARGN}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_files_run.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/cmake/embed_files_run.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
endfunction()
