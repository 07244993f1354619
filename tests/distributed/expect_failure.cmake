# cmake -DLAUNCH=<mpirun and its flags, ;-separated> -DPROGRAM=... -DMODE=... -DEXPECT=<regex>
#       -DLIMIT=<seconds> -P expect_failure.cmake
# Passes when `LAUNCH PROGRAM MODE` fails (a non-zero status) within LIMIT seconds and its output
# matches EXPECT; a job still running after LIMIT seconds (a hang) fails the test.
string(TIMESTAMP started "%s")
execute_process(COMMAND ${LAUNCH} ${PROGRAM} ${MODE} RESULT_VARIABLE status OUTPUT_VARIABLE output
                ERROR_VARIABLE output TIMEOUT ${LIMIT})
string(TIMESTAMP ended "%s")
math(EXPR seconds "${ended} - ${started}")
message("${output}")
message("-- mode ${MODE}: status '${status}' after ${seconds} s")
if(status MATCHES "timeout")
  message(FATAL_ERROR "mode ${MODE}: the job was still running after ${LIMIT} s: it hangs")
elseif(status EQUAL 0)
  message(FATAL_ERROR "mode ${MODE}: the job succeeded, though a rank failed")
elseif(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "mode ${MODE}: the output doesn't say why (no match for '${EXPECT}')")
endif()
