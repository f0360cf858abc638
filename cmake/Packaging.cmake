# cmake/Packaging.cmake - `cmake --install` and the Debian package (CPack DEB).
#
#   cmake --install build --prefix /usr        # or DESTDIR=/tmp/x cmake --install build --prefix /usr
#   (cd build && cpack -G DEB)                 # build/rapport_0.1.0_amd64.deb
#
# Where things land (prefix /usr):
#   bin/rapportd, bin/rapportctl   rapportd stays in bin, not sbin: it is also
#                                  run by ordinary users (the user unit,
#                                  scripts/run), and sbin is not on their PATH.
#   lib/systemd/system/            rapportd.service, rapportd.socket, rapportd-http.socket
#   lib/systemd/user/              rapportd.service (systemctl --user)
#   lib/sysusers.d/rapport.conf, lib/tmpfiles.d/rapport.conf
#   /etc/rapport/                  rapportd.toml, default.toml, jobclub.toml: always
#                                  /etc (as Debian packages do), conffiles in the .deb
#   share/rapport/rapport.xpi      the Thunderbird add-on
#   share/doc/rapport/             README.md, BENCHMARKS.md, daemon/{README,API}.md, docs/*.png
# The units name /usr/bin/rapportd; installed units get the real prefix.

set(RAPPORT_SYSCONFDIR /etc/rapport CACHE PATH "Where the config and policies are installed (absolute)")

install(TARGETS rapportd rapportctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Units: /usr/bin/rapportd replaced by the install-time prefix (which
# `cmake --install --prefix` may change after configuring).
foreach(unit rapportd.service rapportd.socket rapportd-http.socket user/rapportd.service)
  get_filename_component(dir ${unit} DIRECTORY)
  get_filename_component(name ${unit} NAME)
  if(dir STREQUAL "user")
    set(dest lib/systemd/user)
  else()
    set(dest lib/systemd/system)
  endif()
  set(src ${PROJECT_SOURCE_DIR}/systemd/${unit})
  install(CODE "
    file(READ \"${src}\" text)
    string(REPLACE \"/usr/bin/rapportd\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/rapportd\" text \"\${text}\")
    string(REPLACE \"/etc/rapport\" \"${RAPPORT_SYSCONFDIR}\" text \"\${text}\")
    set(out \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${dest}/${name}\")
    message(STATUS \"Installing: \${out}\")
    file(WRITE \"\${out}\" \"\${text}\")
  ")
endforeach()
install(FILES systemd/rapport.sysusers DESTINATION lib/sysusers.d RENAME rapport.conf)
install(FILES systemd/rapport.tmpfiles DESTINATION lib/tmpfiles.d RENAME rapport.conf)

install(FILES systemd/rapportd.toml policies/default.toml policies/jobclub.toml
        DESTINATION ${RAPPORT_SYSCONFDIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES ${CMAKE_BINARY_DIR}/rapport.xpi DESTINATION ${CMAKE_INSTALL_DATADIR}/rapport)

install(FILES README.md BENCHMARKS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES daemon/README.md daemon/API.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/daemon)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# --- Debian package ----------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rapport)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Rapport maintainers <rapport@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMTP proxy that checks job-seeking mail before it leaves")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "SMTP proxy that checks job-seeking mail before it leaves
 rapportd relays mail from a mail client to the real SMTP server and flags
 the habits that get applications ignored (a CV with no explanation, one
 template sent to many, a generic greeting, ...): by policy it relays, warns,
 holds until the sender confirms, or rejects. Includes rapportctl, systemd
 units and the Thunderbird add-on (rapport.xpi).")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# /etc/rapport is absolute: install into DESTDIR (with the prefix below),
# not into a relocated prefix, which would write the real /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON) # RelWithDebInfo binaries are ~70 MB with their debug info
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Besides the libraries: the units' ExecReload runs /bin/kill, which Debian
# ships in procps; a minimal system lacks it and `systemctl reload` fails
# (seen in a debootstrapped bookworm booted with systemd-nspawn).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/systemd/debian/conffiles
    ${PROJECT_SOURCE_DIR}/systemd/debian/postinst
    ${PROJECT_SOURCE_DIR}/systemd/debian/prerm
    ${PROJECT_SOURCE_DIR}/systemd/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
