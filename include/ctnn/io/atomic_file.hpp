#pragma once
// Writing a file so that a crash, a full disk or a failing write never leaves it half-written:
// write_file_atomically(). The model files (io::save), checkpoints (io::save_checkpoint) and the
// trainers' metrics files all go through it. Standard library and POSIX only.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#if __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#define CTNN_IO_POSIX 1
#endif

namespace ctnn::io {

// Every failure to read, parse, match or write a file. The message names the file and, where
// it applies, the tensor.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

inline std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The message of a failed save: the file, the step that failed and why, and that the file
// itself was not touched.
inline Error save_failed(const std::filesystem::path& path, const std::string& step, const std::string& why) {
  return Error("cannot save " + quote(path.string()) + ": " + step + " failed: " + why + "; " + quote(path.string()) +
               " was left as it was");
}

}  // namespace detail

// Writes `bytes` to `path` so that `path` always holds either its previous content or all of
// the new one, even if the program or the machine stops at any moment or a write fails (a full
// disk, a file-size limit: a program that sets one should ignore SIGXFSZ, as the trainers do, so
// that the write fails instead of killing it): the bytes go to a temporary file in the same
// folder (named after `path`, ending in ".tmp"), which is flushed to disk (fsync), then renamed
// over `path`; the folder is then synced so the rename persists. On failure the temporary file
// is removed and Error names `path`.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path tmp = path.string() + ".tmp";
  const std::string tmp_name = "its temporary file " + detail::quote(tmp.string());
#ifdef CTNN_IO_POSIX
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw detail::save_failed(path, "creating " + tmp_name, std::strerror(errno));
  const auto give_up = [&](const std::string& step, int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return detail::save_failed(path, step + " " + tmp_name, error ? std::strerror(error) : "no progress");
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw give_up("writing", w < 0 ? errno : 0);
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) throw give_up("flushing to disk", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw detail::save_failed(path, "closing " + tmp_name, std::strerror(error));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw detail::save_failed(path, "renaming " + tmp_name + " over it", std::strerror(error));
  }
  // Persist the rename itself (best effort: some file systems refuse fsync on a folder).
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#else
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw detail::save_failed(path, "creating " + tmp_name, "cannot open it");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw detail::save_failed(path, "writing " + tmp_name, "disk full?");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw detail::save_failed(path, "renaming " + tmp_name + " over it", ec.message());
  }
#endif
}

}  // namespace ctnn::io
