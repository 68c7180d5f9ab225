# Install rules (GNUInstallDirs) and the Debian package:
#   cmake -S . -B build/package -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build/package
#   (cd build/package && cpack -G DEB)   ->  referral-router_<version>_<arch>.deb
# deploy/build-deb.sh does both with Debian's hardening flags.

# For a /usr prefix (the package), settings go to /etc and units to
# /lib/systemd/system, where Debian 12's own packages put theirs; for any
# other prefix, everything stays under it (relative destinations), so that
# `cmake --install build --prefix DIR` and DESTDIR work. The units name the
# binaries by the prefix given at configure time.
set(RR_SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/referral-router)
set(RR_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(RR_DOCDIR ${CMAKE_INSTALL_FULL_DATAROOTDIR}/doc/referral-router)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(RR_INSTALL_SYSCONF /etc/referral-router)
    set(RR_INSTALL_UNITDIR /lib/systemd/system)
else()
    set(RR_INSTALL_SYSCONF ${CMAKE_INSTALL_SYSCONFDIR}/referral-router)
    set(RR_INSTALL_UNITDIR lib/systemd/system)
endif()

install(TARGETS referral-broker referral-worker referralctl
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# What `referralctl migrate` reads by default (RR_DB_DIR_DEFAULT). Not the
# quickstart's demo centers: a real deployment loads its own register.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/db/migrations ${PROJECT_SOURCE_DIR}/db/seed
        DESTINATION ${CMAKE_INSTALL_DATADIR}/referral-router
        PATTERN "*demo*" EXCLUDE)

# The units: one hardening block, pasted into both services.
file(STRINGS ${PROJECT_SOURCE_DIR}/deploy/systemd/hardening.conf RR_HARDENING_LINES
     REGEX "^[A-Za-z]")
list(JOIN RR_HARDENING_LINES "\n" RR_HARDENING)
set(RR_HARDENING "# Sandboxing (deploy/systemd/hardening.conf): `systemd-analyze security` rates it.\n${RR_HARDENING}\n")
set(RR_UNIT_OUT ${PROJECT_BINARY_DIR}/deploy/systemd)
configure_file(${PROJECT_SOURCE_DIR}/deploy/systemd/referral-broker.service.in
               ${RR_UNIT_OUT}/referral-broker.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/deploy/systemd/referral-worker@.service.in
               ${RR_UNIT_OUT}/referral-worker@.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/deploy/systemd/referral-router.tmpfiles
               ${RR_UNIT_OUT}/referral-router.tmpfiles @ONLY)
install(FILES ${RR_UNIT_OUT}/referral-broker.service ${RR_UNIT_OUT}/referral-worker@.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/referral-router.target
        DESTINATION ${RR_INSTALL_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/referral-router.sysusers
        DESTINATION lib/sysusers.d RENAME referral-router.conf)
install(FILES ${RR_UNIT_OUT}/referral-router.tmpfiles
        DESTINATION lib/tmpfiles.d RENAME referral-router.conf)

# Settings: the package's conffiles.
set(RR_CONFFILES ${RR_SYSCONFDIR}/referral-router.ini ${RR_SYSCONFDIR}/broker.env
    ${RR_SYSCONFDIR}/worker.env)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/referral-router.ini
              ${PROJECT_SOURCE_DIR}/deploy/systemd/broker.env
              ${PROJECT_SOURCE_DIR}/deploy/systemd/worker.env
        DESTINATION ${RR_INSTALL_SYSCONF})

# Documentation and examples, with Debian's copyright and changelog.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
              ${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md ${PROJECT_SOURCE_DIR}/docs/DOMAIN.md
              ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/referral-router)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/alerts.yml
              ${PROJECT_SOURCE_DIR}/deploy/prometheus/prometheus.yml
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/referral-router/examples/prometheus)
# Manual pages from each binary's --help and --version (help2man), when
# help2man is here (deploy/install-deps.sh --package installs it).
find_program(HELP2MAN help2man)
if(HELP2MAN)
    foreach(bin referral-broker referral-worker referralctl)
        set(page ${PROJECT_BINARY_DIR}/deploy/man/${bin}.1.gz)
        add_custom_command(OUTPUT ${page}
            COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/deploy/man
            COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
                    --name=${bin} --source=referral-router $<TARGET_FILE:${bin}>
                    | gzip -9n > ${page}
            DEPENDS ${bin} VERBATIM)
        list(APPEND RR_MAN_PAGES ${page})
    endforeach()
    add_custom_target(rr_man ALL DEPENDS ${RR_MAN_PAGES})
    install(FILES ${RR_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# A native package's changelog: gzip -9n, reproducible (no name or time inside).
set(RR_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/deploy/changelog.gz)
add_custom_command(OUTPUT ${RR_CHANGELOG_GZ}
    COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/deploy/debian/changelog > ${RR_CHANGELOG_GZ}
    DEPENDS ${PROJECT_SOURCE_DIR}/deploy/debian/changelog VERBATIM)
add_custom_target(rr_changelog ALL DEPENDS ${RR_CHANGELOG_GZ})
install(FILES ${RR_CHANGELOG_GZ} DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/referral-router)

# The Debian package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME referral-router)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Referral router developers <referral-router@welfare.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "message-queue service for the referrals of Iran's Positive Life centers")
set(CPACK_PACKAGE_DESCRIPTION
    "The referral router takes service requests from the Welfare Organization's
neighbourhood Positive Life centers over ZeroMQ, routes each to the county
welfare office that must act on it by rules kept in PostgreSQL, and records
it with its whole history. This package holds the broker (referral-broker),
the domain workers (referral-worker), the operator's command line
(referralctl), the database migrations and seeds, systemd units and example
settings.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd: sysusers, tmpfiles and the units.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES ON)
string(REPLACE ";" "\n" RR_CONFFILES_TEXT "${RR_CONFFILES}")
file(WRITE ${PROJECT_BINARY_DIR}/deploy/debian/conffiles "${RR_CONFFILES_TEXT}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
include(CPack)
