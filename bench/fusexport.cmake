# fusexport: the FUSE transport alone, /dev/fuse read/writev against FUSE
# over io_uring (kernel 6.14+), a raw server without libfuse and a getxattr
# client in a second process. Root only; exits 77 when it cannot run.
# `fusexport --quick` for a short run.
add_executable(fusexport ${CMAKE_CURRENT_LIST_DIR}/fusexport.c)
target_link_libraries(fusexport PRIVATE cscommon PkgConfig::URING
  Threads::Threads)
