add_executable(fsops ${CMAKE_CURRENT_LIST_DIR}/fsops.c)
target_link_libraries(fsops PRIVATE cscommon)
