# Cross build for 64-bit ARM Linux on a Debian 12 x86-64 host:
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Needs g++-aarch64-linux-gnu, qemu-user and the arm64 (multiarch) -dev packages of
# the libraries the build links: fmt, pcre2, cpp-httplib, gtest/gmock
# (`scripts/cross-test aarch64` installs them). Header-only packages
# (nlohmann-json, CLI11, Boost.Beast/Asio) are architecture-independent and come from the host.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(S1_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${S1_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${S1_CROSS_TRIPLE}-g++)
# Debian multiarch: the arm64 libraries and their CMake packages live in
# /usr/lib/aarch64-linux-gnu, the cross libc in /usr/aarch64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE ${S1_CROSS_TRIPLE})

# pkg-config reads only the arm64 .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${S1_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# -march=native means the host: a cross build is always portable (armv8-a).
set(S1_NATIVE OFF CACHE BOOL "Compile for the host CPU (-march=native)" FORCE)

# CMake runs target binaries (gtest_discover_tests, CTest) under user-mode qemu.
# With libc6:arm64 installed (the arm64 -dev packages pull it in) the guest's
# /lib/ld-linux-aarch64.so.1 is the host's multiarch one: no -L. Pointing -L (or
# QEMU_LD_PREFIX) at /usr/aarch64-linux-gnu would pair that folder's loader
# (libc6-arm64-cross) with the multiarch libc.so.6 the loader then finds, two
# different glibc builds, and every fork() of the guest hangs.
find_program(S1_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(S1_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${S1_QEMU_AARCH64})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${S1_QEMU_AARCH64} -L /usr/${S1_CROSS_TRIPLE})
  endif()
endif()
