// Writing a whole file so that readers see the old file or the new one, never a part: the
// bytes go into a temporary file beside it, are flushed to disk, and the temporary file is
// renamed over the target. Failures throw Fail(message), messages starting with `who`.
#pragma once
#include <cerrno>
#include <cstdio>     // std::fopen, std::fwrite, std::remove
#include <cstring>    // std::strerror
#include <filesystem>
#include <string_view>
#include <system_error>

#include <fmt/core.h>
#include <unistd.h>  // fsync, getpid

namespace ctnn::io::detail {

template <class Fail>
void write_file_atomically(const std::filesystem::path& path, std::string_view content, std::string_view who) {
  const auto tmp = path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Fail(fmt::format("{}: can't create {}: {}", who, tmp.string(), std::strerror(errno)));
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size() && std::fflush(f) == 0 &&
                       ::fsync(::fileno(f)) == 0;
  const int error = errno;
  if (std::fclose(f) != 0 || !written) {
    std::remove(tmp.c_str());
    throw Fail(fmt::format("{}: writing {} failed: {}", who, tmp.string(), std::strerror(error)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Fail(fmt::format("{}: can't rename {} to {}: {}", who, tmp.string(), path.string(), ec.message()));
  }
}

}  // namespace ctnn::io::detail
