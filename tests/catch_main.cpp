// The single Catch2 main for every ctnn test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
