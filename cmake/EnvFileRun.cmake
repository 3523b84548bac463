# cmake -DHERALD=<binary> -DOUT=<file> -P EnvFileRun.cmake
#
# Writes Herald's environment file (installed as /etc/default/herald) from
# `herald --help`: every HERALD_* variable, commented out, with the default and the
# help text the binary itself shows, so the file cannot drift from the settings.
# Fails the build when the help text has a setting it cannot read.
# A sanitizer build's herald must not fail the build over its own exit.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
execute_process(COMMAND ${HERALD} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${HERALD} --help exited ${rc}")
endif()
execute_process(COMMAND ${HERALD} --version OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)

# CLI11 prints each option as its name column (padded to kColumn) and its description,
# which moves to the next line, indented, when the name column is wider.
set(kColumn 36)
string(REPEAT " " ${kColumn} indent)
# Lines one by one, not as a CMake list: `;` and `[` in the text would split or join list items.
set(lines_left "${help}")
macro(next_line out)
  string(FIND "${lines_left}" "\n" nl)
  if(nl LESS 0)
    set(${out} "${lines_left}")
    set(lines_left "")
  else()
    string(SUBSTRING "${lines_left}" 0 ${nl} ${out})
    math(EXPR nl "${nl} + 1")
    string(SUBSTRING "${lines_left}" ${nl} -1 lines_left)
  endif()
endmacro()

set(body "")
set(settings 0)
set(pending "")
while(NOT lines_left STREQUAL "" OR NOT pending STREQUAL "")
  if(NOT pending STREQUAL "")
    set(line "${pending}")
    set(pending "")
  else()
    next_line(line)
  endif()
  if(NOT line MATCHES "^  --")
    continue()
  endif()
  next_line(next)
  string(FIND "${next}" "${indent}" at)
  if(at EQUAL 0)
    set(name "${line}")
    set(description "${next}")
  else()
    set(pending "${next}")
    string(SUBSTRING "${line}" 0 ${kColumn} name)
    string(SUBSTRING "${line}" ${kColumn} -1 description)
  endif()
  string(STRIP "${name}" name)
  string(STRIP "${description}" description)

  # The variable: CLI11's "(Env:NAME)", or for the repeatable flags "env NAME" in the text.
  if(name MATCHES "\\(Env:(HERALD_[A-Z_]+)\\)")
    set(env "${CMAKE_MATCH_1}")
  elseif(description MATCHES "env (HERALD_[A-Z_]+)")
    set(env "${CMAKE_MATCH_1}")
  elseif(name MATCHES "^--(help|version)")
    continue()
  else()
    message(FATAL_ERROR "herald --help: no HERALD_* variable for: ${line}")
  endif()
  # "--flag TYPE=default (Env:...)" (CLI11 2.3, Debian 12) or "--flag TYPE [default] (Env:...)".
  set(default "")
  if(name MATCHES "^--[a-z-]+ [A-Z:]+=(.*) \\(Env:")
    set(default "${CMAKE_MATCH_1}")
  elseif(name MATCHES "^--[a-z-]+ [A-Z:]+ \\[(.*)\\]")
    set(default "${CMAKE_MATCH_1}")
  endif()
  if(NOT name MATCHES "^(--[a-z-]+ [A-Z:]+)")
    message(FATAL_ERROR "herald --help: cannot read the flag of: ${line}")
  endif()
  set(flag "${CMAKE_MATCH_1}")
  string(APPEND body "\n# ${flag}: ${description}\n#${env}=${default}\n")
  math(EXPR settings "${settings} + 1")
endwhile()
string(REGEX MATCHALL "Env:HERALD_" shown "${help}")
list(LENGTH shown expected)
if(settings LESS 20 OR settings LESS expected)
  message(FATAL_ERROR "herald --help: read ${settings} settings, expected at least ${expected}")
endif()

file(WRITE ${OUT} "# Herald's settings, read by herald.service (EnvironmentFile=); ${version}.
# Written from `herald --help` at build time: every HERALD_* variable, commented out,
# shows its default. Uncomment and edit what you change, then `systemctl restart herald`.
# Durations: 15, 1.5, 500ms, 3s, 5m, 24h. Sizes: 1048576, 256KiB, 1MiB. Lists
# (HERALD_API_KEY, HERALD_CORS_ORIGIN): comma-separated. No quotes: values are taken as is.
# Secrets are better in files readable by herald only, e.g. /etc/herald/api-keys
# (root:herald, 0640) named by HERALD_API_KEY_FILE; `systemctl reload herald` re-reads it.
# The unit's TimeoutStopSec=30 covers HERALD_DRAIN_TIME up to 25s; raise both together
# (`systemctl edit herald`).
${body}")
