// ctnn/data/error.hpp — the exception every data-loading failure raises.
#pragma once

#include <stdexcept>  // std::runtime_error
#include <string>     // std::string

namespace ctnn::data {

// Raised for anything wrong with data on disk: a missing folder or file, a truncated file, a label
// out of range. The message names the file and, where it applies, the record and byte offset.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ctnn::data
