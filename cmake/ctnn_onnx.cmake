# ctnn::onnx: io::export_onnx's writer (ctnn/io/onnx.ipp) compiled into a static library, linked
# to ONNX's protobuf classes, where protobuf and ONNX's CMake config are found (Debian:
# libprotobuf-dev, libonnx-dev). Included by ctnn's CMakeLists.txt and by the installed package
# config, which compiles it in the consumer's project (as ctnn::cpu_compiled). Sets
# CTNN_ONNX_MISSING to the reason where it can't be had.
set(CTNN_ONNX_MISSING "")
if(NOT TARGET ctnn::onnx)
  find_package(Protobuf QUIET)
  if(Protobuf_FOUND)
    find_package(ONNX CONFIG QUIET)
  endif()
  if(NOT TARGET onnx_proto)
    set(CTNN_ONNX_MISSING "protobuf or ONNX not found (Debian: libprotobuf-dev libonnx-dev)")
  else()
    set(_ctnn_onnx_source "${CMAKE_CURRENT_BINARY_DIR}/ctnn_onnx.cpp")
    file(CONFIGURE OUTPUT "${_ctnn_onnx_source}" CONTENT "#include <ctnn/io/onnx.ipp>\n")
    add_library(ctnn_onnx STATIC "${_ctnn_onnx_source}")
    add_library(ctnn::onnx ALIAS ctnn_onnx)
    target_link_libraries(ctnn_onnx PUBLIC ctnn::ctnn PRIVATE onnx_proto)
  endif()
endif()
