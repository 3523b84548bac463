# Install rules and the Debian package (CPack DEB), for `cmake --install` and
# ./scripts/package. What goes where, with CMAKE_INSTALL_PREFIX=/usr (the package):
#   /usr/bin/herald
#   /lib/systemd/system/herald.service     (HERALD_SYSTEMD_UNIT_DIR)
#   /etc/default/herald                    every HERALD_* setting, commented, defaults shown
#   /usr/share/doc/herald/                 README, docs/, the OpenAPI file, deploy examples
# With another prefix (the default /usr/local) the unit goes to <prefix>/lib/systemd/system
# and the environment file to <sysconfdir>/default/herald; the unit names both paths.
include(GNUInstallDirs)

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(herald_unit_default "/lib/systemd/system")
else()
  set(herald_unit_default "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(HERALD_SYSTEMD_UNIT_DIR "${herald_unit_default}" CACHE PATH "Where the systemd unit is installed")

set(HERALD_BINARY "${CMAKE_INSTALL_FULL_BINDIR}/herald")
set(HERALD_ENV_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/herald")
set(HERALD_DOC_DIR "${CMAKE_INSTALL_FULL_DOCDIR}")
configure_file(${CMAKE_SOURCE_DIR}/deploy/systemd/herald.service.in ${CMAKE_BINARY_DIR}/herald.service @ONLY)

# The environment file is made from `herald --help` whenever herald is rebuilt, so it
# lists exactly the settings the binary has, with the defaults it uses.
set(HERALD_ENV_FILE_BUILT ${CMAKE_BINARY_DIR}/herald.default)
add_custom_command(
  OUTPUT ${HERALD_ENV_FILE_BUILT}
  COMMAND ${CMAKE_COMMAND} -DHERALD=$<TARGET_FILE:herald> -DOUT=${HERALD_ENV_FILE_BUILT}
          -P ${CMAKE_SOURCE_DIR}/cmake/EnvFileRun.cmake
  DEPENDS herald ${CMAKE_SOURCE_DIR}/cmake/EnvFileRun.cmake
  VERBATIM
  COMMENT "Writing herald.default from herald --help")
add_custom_target(herald_env_file ALL DEPENDS ${HERALD_ENV_FILE_BUILT})

install(TARGETS herald RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/herald.service DESTINATION ${HERALD_SYSTEMD_UNIT_DIR})
install(FILES ${HERALD_ENV_FILE_BUILT} DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default RENAME herald)
# The repository's layout, so the documents' relative links still work.
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES api/openapi.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/api)
install(FILES deploy/haproxy.cfg deploy/nginx.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/deploy)
install(DIRECTORY deploy/k8s deploy/grafana DESTINATION ${CMAKE_INSTALL_DOCDIR}/deploy)

# The Debian package: herald_<version>_amd64.deb.
set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VENDOR "Herald")
set(CPACK_PACKAGE_CONTACT "Herald maintainers <herald@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "push-notification gateway: REST in, Server-Sent Events out")
set(CPACK_PACKAGE_DESCRIPTION
    "Backends POST notifications to Herald's REST API, and browsers receive them live over
Server-Sent Events (EventSource), resuming by Last-Event-ID without gaps. One node runs
with its embedded memory broker, many nodes share one Redis.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages come from dpkg-shlibdeps; adduser is for postinst,
# procps for the unit's ExecReload (/bin/kill).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ca-certificates is the system trust store rediss:// verifies against by default.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-server")
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${HERALD_ENV_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR})
include(CPack)
