# ctnn_fetch_cifar10.cmake — download, verify and unpack the CIFAR-10 binary data set.
#
#   cmake -DDEST=data -P cmake/ctnn_fetch_cifar10.cmake
#
# gives data/cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt}, which
# ctnn::data::cifar10::load("data") reads. Options (all -D, before -P):
#   DEST     folder to unpack into (required; created if missing)
#   ARCHIVE  use this local cifar-10-binary.tar.gz instead of downloading (offline machines)
#   URL      where to download from (default: the official location below)
#   MD5      the archive's expected MD5 (default: the official archive's)
#   TIMEOUT  seconds before a download attempt gives up (default 30; 10 with no progress)
# Nothing is downloaded if the files are already there. A failed or corrupt download is deleted;
# the message says what to do on a machine without network.
cmake_minimum_required(VERSION 3.18)  # file(ARCHIVE_EXTRACT)

set(_official_url "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
set(_official_md5 "c32a1d4ab5d03f1284b67883e8d87530")
if(NOT DEFINED DEST OR DEST STREQUAL "")
  message(FATAL_ERROR "ctnn_fetch_cifar10: usage: cmake -DDEST=<folder> [-DARCHIVE=<file.tar.gz>] "
                      "-P ctnn_fetch_cifar10.cmake")
endif()
if(NOT DEFINED URL OR URL STREQUAL "")
  set(URL "${_official_url}")
endif()
if(NOT DEFINED MD5 OR MD5 STREQUAL "")
  set(MD5 "${_official_md5}")
endif()
if(NOT DEFINED TIMEOUT OR TIMEOUT STREQUAL "")
  set(TIMEOUT 30)
endif()
get_filename_component(DEST "${DEST}" ABSOLUTE)
string(TOLOWER "${MD5}" MD5)

set(_out "${DEST}/cifar-10-batches-bin")
set(_files data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin
           test_batch.bin batches.meta.txt)

# Returns in ${var} the expected files missing from ${_out}.
function(_ctnn_missing var)
  set(missing "")
  foreach(f IN LISTS _files)
    if(NOT EXISTS "${_out}/${f}")
      list(APPEND missing "${f}")
    endif()
  endforeach()
  set(${var} "${missing}" PARENT_SCOPE)
endfunction()

_ctnn_missing(_missing)
if(NOT _missing)
  message(STATUS "ctnn_fetch_cifar10: CIFAR-10 is already in ${_out}; nothing to do")
  return()
endif()

set(_offline_help
    "Without network: on a machine that has it, download\n  ${_official_url}\n"
    "(md5 ${_official_md5}), then either\n"
    "  - put it at ${DEST}/cifar-10-binary.tar.gz and run this command again, or\n"
    "  - run: cmake -DDEST=${DEST} -DARCHIVE=/path/to/cifar-10-binary.tar.gz -P ctnn_fetch_cifar10.cmake, or\n"
    "  - unpack it yourself so that ${_out}/data_batch_1.bin exists.")
string(CONCAT _offline_help ${_offline_help})

file(MAKE_DIRECTORY "${DEST}")
set(_downloaded FALSE)
if(DEFINED ARCHIVE AND NOT ARCHIVE STREQUAL "")
  get_filename_component(_tarball "${ARCHIVE}" ABSOLUTE)
  if(NOT EXISTS "${_tarball}")
    message(FATAL_ERROR "ctnn_fetch_cifar10: ARCHIVE ${_tarball} does not exist.\n${_offline_help}")
  endif()
else()
  set(_tarball "${DEST}/cifar-10-binary.tar.gz")
  set(_have_good FALSE)
  if(EXISTS "${_tarball}")
    file(MD5 "${_tarball}" _got)
    if(_got STREQUAL MD5)
      set(_have_good TRUE)
      message(STATUS "ctnn_fetch_cifar10: using the archive already at ${_tarball}")
    endif()
  endif()
  if(NOT _have_good)
    message(STATUS "ctnn_fetch_cifar10: downloading ${URL} (timeout ${TIMEOUT} s)")
    file(DOWNLOAD "${URL}" "${_tarball}.part" STATUS _status TIMEOUT ${TIMEOUT}
         INACTIVITY_TIMEOUT 10 TLS_VERIFY ON)
    list(GET _status 0 _code)
    list(GET _status 1 _why)
    if(NOT _code EQUAL 0)
      file(REMOVE "${_tarball}.part")
      message(FATAL_ERROR "ctnn_fetch_cifar10: could not download ${URL}: ${_why} (curl error "
                          "${_code}).\n${_offline_help}")
    endif()
    file(RENAME "${_tarball}.part" "${_tarball}")
    set(_downloaded TRUE)
  endif()
endif()

file(MD5 "${_tarball}" _got)
if(NOT _got STREQUAL MD5)
  if(_downloaded)
    file(REMOVE "${_tarball}")
    set(_fate "The download was deleted.")
  else()
    set(_fate "The file was left as it is.")
  endif()
  message(FATAL_ERROR "ctnn_fetch_cifar10: MD5 mismatch for ${_tarball}: expected ${MD5}, got "
                      "${_got}. ${_fate} The archive is corrupt, incomplete or not the CIFAR-10 "
                      "binary version.\n${_offline_help}")
endif()
message(STATUS "ctnn_fetch_cifar10: MD5 ${_got} OK; unpacking into ${DEST}")
file(ARCHIVE_EXTRACT INPUT "${_tarball}" DESTINATION "${DEST}")

_ctnn_missing(_missing)
if(_missing)
  message(FATAL_ERROR "ctnn_fetch_cifar10: ${_tarball} unpacked, but ${_out} lacks: ${_missing}")
endif()
message(STATUS "ctnn_fetch_cifar10: CIFAR-10 ready in ${_out}")
