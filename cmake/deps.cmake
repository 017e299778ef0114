# Finds every external dependency; each failure names the Debian package.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: run scripts/setup.sh (Debian package pkg-config)")
endif()
find_package(Threads REQUIRED)

macro(cs_pkg var module debpkg)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: run scripts/setup.sh (Debian package ${debpkg})")
  endif()
endmacro()

cs_pkg(URING liburing liburing-dev)
cs_pkg(FUSE3 "fuse3>=3.14" libfuse3-dev)
cs_pkg(SECCOMP libseccomp libseccomp-dev)
cs_pkg(ARGON2 libargon2 libargon2-dev)

# Libraries without pkg-config files in Debian 12.
macro(cs_lib var header lib debpkg)
  find_path(${var}_INCLUDE ${header})
  find_library(${var}_LIB ${lib})
  if(NOT ${var}_INCLUDE OR NOT ${var}_LIB)
    message(FATAL_ERROR "${header}/lib${lib} not found: run scripts/setup.sh (Debian package ${debpkg})")
  endif()
  add_library(cs::${lib} UNKNOWN IMPORTED)
  set_target_properties(cs::${lib} PROPERTIES IMPORTED_LOCATION ${${var}_LIB}
    INTERFACE_INCLUDE_DIRECTORIES ${${var}_INCLUDE})
endmacro()

cs_lib(IPSECMB intel-ipsec-mb.h IPSec_MB libipsec-mb-dev)
cs_lib(MBEDCRYPTO mbedtls/gcm.h mbedcrypto libmbedtls-dev)
cs_lib(MBEDX509 mbedtls/x509.h mbedx509 libmbedtls-dev)
cs_lib(MBEDTLS mbedtls/ssl.h mbedtls libmbedtls-dev)
cs_lib(CUNIT CUnit/CUnit.h cunit libcunit1-dev)

find_program(FUSERMOUNT3 fusermount3)
if(NOT FUSERMOUNT3)
  message(WARNING "fusermount3 not found: mounting needs Debian package fuse3")
endif()
