// Where fit()'s progress goes (see progress.hpp).
#pragma once

namespace ctnn::train {

enum class Output {
  automatic,  // a bar when the stream is a terminal, lines otherwise
  bar,
  lines,
  quiet,      // nothing
};

}  // namespace ctnn::train
