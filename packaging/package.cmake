# Installation and the Debian package (CPack). `cmake --install build` installs into the
# prefix (/usr/local by default); `cmake --build build --target package` builds
# embassy_<version>_<arch>.deb for /usr. Only the embassy binary is installed: the mount
# helper is a symlink to it, the man pages are generated from its --help texts at build
# time (packaging/man.cmake: one source, nothing to keep in step), the completion asks it
# for its commands and options at completion time.
include(GNUInstallDirs)
set(EMBASSY_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/embassy)

# mount(8) looks for /sbin/mount.<type>; /sbin is where a helper works on every Debian 12
# root, merged /usr or not (fuse3 puts mount.fuse3 there too).
set(EMBASSY_MOUNT_HELPER_DIR "/sbin" CACHE PATH "where mount.fuse.embassy is installed")

install(TARGETS embassy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# (the prefix is the one of this installation: /usr for the package)
install(CODE "
  set(dir \"\$ENV{DESTDIR}${EMBASSY_MOUNT_HELPER_DIR}\")
  set(bin \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/embassy\")
  file(MAKE_DIRECTORY \"\${dir}\")
  file(CREATE_LINK \"\${bin}\" \"\${dir}/mount.fuse.embassy\" SYMBOLIC)
  message(STATUS \"Installing: \${dir}/mount.fuse.embassy -> \${bin}\")")

# Man pages: run the built binary (not in sanitizer builds, whose binary is for tests).
if(NOT EMBASSY_SANITIZE AND NOT EMBASSY_FUZZ)
  set(EMBASSY_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(OUTPUT ${EMBASSY_MAN_DIR}/stamp
    COMMAND ${CMAKE_COMMAND} -DEMBASSY=$<TARGET_FILE:embassy> -DOUT=${EMBASSY_MAN_DIR}
            -P ${CMAKE_SOURCE_DIR}/packaging/man.cmake
    DEPENDS embassy ${CMAKE_SOURCE_DIR}/packaging/man.cmake
    COMMENT "Generating the man pages from the --help texts")
  add_custom_target(man ALL DEPENDS ${EMBASSY_MAN_DIR}/stamp)
  install(DIRECTORY ${EMBASSY_MAN_DIR}/man1 ${EMBASSY_MAN_DIR}/man8
          DESTINATION ${CMAKE_INSTALL_MANDIR})
endif()

install(FILES ${CMAKE_SOURCE_DIR}/packaging/bash-completion/embassy
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# Units are templates: nothing runs until an operator enables an instance.
install(FILES
  ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy-mount@.service
  ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy-seal@.service
  ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy-seal@.timer
  ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy-refresh-head@.service
  ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy-refresh-head@.timer
  DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/embassy.sysusers
        DESTINATION lib/sysusers.d RENAME embassy.conf)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/CLI.md
              ${CMAKE_SOURCE_DIR}/docs/JSON.md ${CMAKE_SOURCE_DIR}/docs/FORMAT.md
              ${CMAKE_SOURCE_DIR}/docs/THREAT-MODEL.md ${CMAKE_SOURCE_DIR}/docs/KEYS.md
        DESTINATION ${EMBASSY_DOC_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/packaging/examples/ DESTINATION ${EMBASSY_DOC_DIR}/examples)

# ---- the Debian package ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME embassy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "embassyfs maintainers <embassyfs@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "encrypted, signed snapshots of critical registers in a data embassy")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"embassy keeps encrypted, signed, deduplicated snapshots of a state's critical
registers in a data embassy abroad, whose host can neither read, forge nor
silently roll them back. A recovery host mounts the store (FUSE, also from
/etc/fstab with mount -t fuse.embassy) and the registers appear as ordinary
files; or restores, lists and verifies them. Local directories, HTTP(S)/WebDAV
and S3 stores.")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://embassy.invalid/")
# The runtime libraries only (no compiler, no -dev): with dpkg-dev installed dpkg-shlibdeps
# names them, with the versions the binary needs, and libc6; fusermount3 comes from fuse3.
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "fuse3, libfuse3-3, libsodium23, libcurl4, libjansson4, libzstd1, libc6")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
