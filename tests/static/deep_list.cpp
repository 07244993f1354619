// See deep_list.hpp; this translation unit is compiled with -ftemplate-depth=128.
#include "deep_list.hpp"

#include "core_only.hpp"  // TypesOnlyBackend

static_assert(ctnn_deep::instantiate<ctnn_static::TypesOnlyBackend>());
