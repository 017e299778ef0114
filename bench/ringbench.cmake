# ringbench: proto/ rings between two processes vs futex, pipe, socketpair
# yardsticks in the same run (docs/RINGS.md). `ringbench --quick` for a
# short run.
add_executable(ringbench ${CMAKE_CURRENT_LIST_DIR}/ringbench.c)
target_link_libraries(ringbench PRIVATE csproto cscommon)
