// The one exception type ctnn throws for errors a user can cause or meet at run time.
#pragma once
#include <stdexcept>  // std::runtime_error
#include <string>

namespace ctnn {

// Messages say what failed, where (layer, file, offset, library call) and why.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ctnn
