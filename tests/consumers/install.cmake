# cmake -DBUILD_DIR=... -DPREFIX=... -P install.cmake: a clean install of ctnn's build tree,
# checked for the files a find_package consumer needs.
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} failed (exit ${rc})")
endif()
file(GLOB_RECURSE config ${PREFIX}/*/ctnnConfig.cmake)
foreach(needed include/ctnn/ctnn.hpp include/ctnn/core/shape.hpp include/ctnn/backend/cpu.hpp
               share/ctnn/ctnn_fetch_cifar10.cmake)
  if(NOT EXISTS ${PREFIX}/${needed})
    message(FATAL_ERROR "the install lacks ${needed}")
  endif()
endforeach()
if(NOT config)
  message(FATAL_ERROR "the install lacks ctnnConfig.cmake")
endif()
