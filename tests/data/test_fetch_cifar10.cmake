# Tests cmake/ctnn_fetch_cifar10.cmake without network: a small tar.gz made here stands in for
# the real archive. Run by ctest as: cmake -DSCRIPT=<fetch script> -DWORK=<scratch dir> -P this.
cmake_minimum_required(VERSION 3.21)  # file(COPY_FILE)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/src/cifar-10-batches-bin")
set(_files data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin
           test_batch.bin batches.meta.txt)
foreach(f IN LISTS _files)
  file(WRITE "${WORK}/src/cifar-10-batches-bin/${f}" "contents of ${f}\n")
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf "${WORK}/fake.tar.gz" cifar-10-batches-bin
                WORKING_DIRECTORY "${WORK}/src" RESULT_VARIABLE rc)
file(MD5 "${WORK}/fake.tar.gz" good_md5)
# An archive that lacks test_batch.bin.
file(REMOVE "${WORK}/src/cifar-10-batches-bin/test_batch.bin")
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf "${WORK}/partial.tar.gz" cifar-10-batches-bin
                WORKING_DIRECTORY "${WORK}/src")
file(MD5 "${WORK}/partial.tar.gz" partial_md5)

set(failures 0)
# fetch(<name> <expect: OK|FAIL> <regex the output must match> args...)
function(fetch name expect regex)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${CMAKE_COMMAND} ${ARGN} -P "${SCRIPT}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  # CMake wraps message text; match against the words with whitespace runs made single spaces.
  string(REGEX REPLACE "[ \t\r\n]+" " " all "${out}${err}")
  set(ok TRUE)
  if(expect STREQUAL "OK" AND NOT rc EQUAL 0)
    set(ok FALSE)
  elseif(expect STREQUAL "FAIL" AND rc EQUAL 0)
    set(ok FALSE)
  endif()
  if(NOT all MATCHES "${regex}")
    set(ok FALSE)
  endif()
  if(ok)
    message(STATUS "PASS ${name} (${secs} s)")
  else()
    message(STATUS "FAIL ${name}: exit ${rc}, expected ${expect} and output matching '${regex}'. Output:\n${all}")
    math(EXPR n "${failures} + 1")
    set(failures ${n} PARENT_SCOPE)
  endif()
endfunction()

# 1. Verify and unpack a local archive.
fetch(archive OK "MD5 ${good_md5} OK.*ready in" -DDEST=${WORK}/d1 -DARCHIVE=${WORK}/fake.tar.gz -DMD5=${good_md5})
file(READ "${WORK}/d1/cifar-10-batches-bin/data_batch_3.bin" c)
if(NOT c STREQUAL "contents of data_batch_3.bin\n")
  message(STATUS "FAIL archive: unpacked data_batch_3.bin holds '${c}'")
  math(EXPR failures "${failures} + 1")
endif()
# 2. A second run finds the files and does nothing.
fetch(again OK "already in" -DDEST=${WORK}/d1 -DMD5=0000)
# 3. The download path, from a file:// URL.
fetch(download OK "downloading file://.*MD5 ${good_md5} OK.*ready in"
      -DDEST=${WORK}/d2 -DURL=file://${WORK}/fake.tar.gz -DMD5=${good_md5})
if(NOT EXISTS "${WORK}/d2/cifar-10-batches-bin/test_batch.bin")
  message(STATUS "FAIL download: nothing unpacked")
  math(EXPR failures "${failures} + 1")
endif()
# 4. A wrong checksum: refused, nothing unpacked, a downloaded file is deleted.
fetch(bad_md5_archive FAIL "MD5 mismatch.*expected 0123456789abcdef0123456789abcdef, got ${good_md5}"
      -DDEST=${WORK}/d3 -DARCHIVE=${WORK}/fake.tar.gz -DMD5=0123456789abcdef0123456789abcdef)
fetch(bad_md5_download FAIL "MD5 mismatch.*download was deleted"
      -DDEST=${WORK}/d4 -DURL=file://${WORK}/fake.tar.gz -DMD5=0123456789abcdef0123456789abcdef)
if(EXISTS "${WORK}/d3/cifar-10-batches-bin" OR EXISTS "${WORK}/d4/cifar-10-binary.tar.gz")
  message(STATUS "FAIL bad_md5: files were left behind")
  math(EXPR failures "${failures} + 1")
endif()
# 5. Offline: nothing listens on port 1, so the download fails at once; the message says where
#    to put the files.
fetch(offline FAIL "could not download http://127.0.0.1:1/.*Without network.*${WORK}/d5/cifar-10-binary.tar.gz.*-DARCHIVE="
      -DDEST=${WORK}/d5 -DURL=http://127.0.0.1:1/cifar-10-binary.tar.gz -DTIMEOUT=5)
if(EXISTS "${WORK}/d5/cifar-10-binary.tar.gz.part" OR EXISTS "${WORK}/d5/cifar-10-binary.tar.gz")
  message(STATUS "FAIL offline: a partial download was left behind")
  math(EXPR failures "${failures} + 1")
endif()
# 6. The archive put by hand at DEST/cifar-10-binary.tar.gz is used without any download.
file(MAKE_DIRECTORY "${WORK}/d8")
file(COPY_FILE "${WORK}/fake.tar.gz" "${WORK}/d8/cifar-10-binary.tar.gz")
fetch(placed OK "using the archive already at.*ready in"
      -DDEST=${WORK}/d8 -DURL=http://127.0.0.1:1/unused -DMD5=${good_md5})
# 7. A missing ARCHIVE, an archive without all the files, and no DEST at all.
fetch(no_archive FAIL "ARCHIVE .*nope.tar.gz does not exist" -DDEST=${WORK}/d6 -DARCHIVE=${WORK}/nope.tar.gz)
fetch(partial FAIL "lacks: test_batch.bin" -DDEST=${WORK}/d7 -DARCHIVE=${WORK}/partial.tar.gz -DMD5=${partial_md5})
fetch(usage FAIL "usage: cmake -DDEST=")

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} fetch check(s) failed")
endif()
file(REMOVE_RECURSE "${WORK}")
