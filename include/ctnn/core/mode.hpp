// Train or eval: what BN (batch vs running statistics) and Dropout (mask vs identity) do.
#pragma once

namespace ctnn {

enum class Mode { train, eval };

}  // namespace ctnn
