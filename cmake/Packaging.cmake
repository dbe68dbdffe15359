# `cmake --build build --target package`: build/inotrace_<version>_amd64.deb (CPack, DEB).
# Layout: /usr/bin/inotrace, inotrace(8) from --help (help2man), inotrace.service with its
# arguments in /etc/default/inotrace (a conffile), copyright and changelog as Debian wants them,
# /usr/share/inotrace/node-problem-detector/inotify.json.
# Depends: computed by dpkg-shlibdeps from the binary's NEEDED libraries.
# `cmake --build build --target image`: build/inotrace-image.tar (scripts/build-image.sh; a no-op
# when up to date).
add_custom_target(image COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-image.sh ${CMAKE_BINARY_DIR}
                  DEPENDS inotrace USES_TERMINAL)

find_program(HELP2MAN help2man)
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT HELP2MAN OR NOT DPKG_SHLIBDEPS)
  message(STATUS "No package target: needs help2man and dpkg-shlibdeps (dpkg-dev); scripts/install-deps.sh installs them")
  return()
endif()

set(pkg_src ${PROJECT_SOURCE_DIR}/packaging/deb)
set(pkg_out ${CMAKE_BINARY_DIR}/packaging)
add_custom_command(
  OUTPUT ${pkg_out}/inotrace.8.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${pkg_out}
  COMMAND ${pkg_src}/gen-manpage.sh $<TARGET_FILE:inotrace> ${pkg_out}/inotrace.8.gz
  DEPENDS inotrace ${pkg_src}/gen-manpage.sh ${pkg_src}/manpage.h2m
  COMMENT "inotrace(8) from --help (help2man)")
add_custom_command(
  OUTPUT ${pkg_out}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${pkg_out}
  COMMAND gzip -9n < ${pkg_src}/changelog > ${pkg_out}/changelog.gz
  DEPENDS ${pkg_src}/changelog
  VERBATIM)
add_custom_target(inotrace_package_files ALL DEPENDS ${pkg_out}/inotrace.8.gz ${pkg_out}/changelog.gz)

# A root daemon: resolve every symbol at start, GOT read-only (lintian hardening-no-bindnow).
target_link_options(inotrace PRIVATE -Wl,-z,relro,-z,now)
install(TARGETS inotrace RUNTIME DESTINATION bin)
install(FILES ${pkg_out}/inotrace.8.gz DESTINATION share/man/man8)
install(FILES ${pkg_src}/copyright ${pkg_out}/changelog.gz DESTINATION share/doc/inotrace)
install(FILES ${pkg_src}/inotrace.service DESTINATION /lib/systemd/system)
install(FILES ${pkg_src}/default DESTINATION /etc/default RENAME inotrace)
# node-problem-detector's custom plugin config for `inotrace check` (deploy/node-problem-detector/).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/node-problem-detector/inotify.json DESTINATION share/inotrace/node-problem-detector)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME inotrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Seed b1ef86f2 maintainers <maintainers@users.noreply.r-seed-b1ef86f2.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "trace Linux inotify watches and their leaks with eBPF")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "inotrace shows who adds, keeps and leaks inotify watches on a host: a live
audit log of inotify activity, a snapshot of every watch with its holder and
path, and a daemon that keeps a live table, flags watches whose Kubernetes pod
is gone and serves Prometheus metrics and a JSON API (inotrace.service).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${pkg_src}/conffiles ${pkg_src}/postinst ${pkg_src}/prerm ${pkg_src}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
