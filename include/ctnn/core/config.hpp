// Header-only by default; optionally compiled once.
//
// ctnn's templates (layers, Sequential, Model, Trainer) are instantiated where they are used,
// but much of the library is ordinary functions: the oneDNN calls of the CPU backend,
// safetensors, checkpoints, the training loop, progress output, plots. Header-only, every
// translation unit that uses them compiles them again. With CTNN_SEPARATE_COMPILATION defined
// (for the whole program), the headers only declare those functions, and one .cpp file that
// includes <ctnn/separate_compilation.hpp> defines them (CMake: link ctnn::cpu_compiled, which
// does both). A network's translation unit then compiles the network and little else.
#pragma once

#ifdef CTNN_SEPARATE_COMPILATION
#define CTNN_INLINE
#else
#define CTNN_INLINE inline
#endif
