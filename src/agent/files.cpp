#include "agent/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "agent/protocol.h"
#include "agent/reply.h"
#include "base/file.h"
#include "base/log.h"

namespace vessel::agent {

namespace {

// Large enough to keep a vsock stream busy, well under max_frame_payload.
constexpr size_t pull_chunk = 256 * 1024;

// A file name inside a directory may not be longer than this; the temporary file's name adds
// about 20 characters to the target's.
constexpr size_t temporary_name_keep = 200;

// The temporary file of a push: removed unless it was renamed into place, whatever path the
// operation leaves by.
class TemporaryFile {
  public:
    TemporaryFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    TemporaryFile(TemporaryFile&& other) noexcept
        : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)) {}
    TemporaryFile& operator=(TemporaryFile&&) = delete;
    ~TemporaryFile() { discard(); }

    const std::string& path() const { return path_; }
    int fd() const { return fd_.get(); }
    void discard() {
        if (!path_.empty()) ::unlink(path_.c_str());
        path_.clear();
        fd_.reset();
    }
    // After the rename: the path now names the target, which must stay.
    void keep() { path_.clear(); }

  private:
    std::string path_;
    UniqueFd fd_;
};

struct PushRequest {
    std::string path;
    mode_t mode = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
    bool parents = false;
};

Result<std::string> absolute_path(const JsonAt& request) {
    auto path = TRY(TRY(request.child("path")).string());
    if (!path.starts_with('/')) return fail("path \"{}\" is not absolute", single_line(path));
    return path;
}

Result<PushRequest> parse_push(const JsonAt& request) {
    PushRequest push;
    push.path = TRY(absolute_path(request));
    push.mode = TRY(request.optional_integer_in<uint32_t>("mode")).value_or(0644) & 07777;
    push.uid = TRY(request.optional_integer_in<uint32_t>("uid")).value_or(0);
    push.gid = TRY(request.optional_integer_in<uint32_t>("gid")).value_or(0);
    push.parents = TRY(request.optional_boolean("parents")).value_or(false);
    return push;
}

// Checks the directory and the target, then creates the temporary file beside the target.
Result<TemporaryFile> create_temporary(const PushRequest& push, const std::string& where) {
    auto slash = push.path.rfind('/');
    std::string directory = slash == 0 ? "/" : push.path.substr(0, slash);
    std::string name = push.path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") return fail("{}: not a file path", where);

    struct stat info {};
    if (::stat(directory.c_str(), &info) != 0) {
        if (errno != ENOENT) return fail_errno(fmt::format("{}: {}", where, directory));
        if (!push.parents) return fail("{}: the directory {} does not exist", where, directory);
        TRY_CTX(make_directories(directory, 0755), "{}", where);
    } else if (!S_ISDIR(info.st_mode)) {
        return fail("{}: {} is not a directory", where, directory);
    }
    // lstat: a symlink at the path is replaced like any file, not followed.
    if (::lstat(push.path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
        return fail("{}: is a directory", where);

    std::string temporary =
        fmt::format("{}/.{}.vessel-push.XXXXXX", directory == "/" ? "" : directory,
                    name.substr(0, temporary_name_keep));
    int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (fd < 0)
        return fail_errno(fmt::format("{}: create a temporary file in {}", where, directory));
    return TemporaryFile(std::move(temporary), UniqueFd(fd));
}

// Gives the complete temporary file its owner and mode, makes it durable and moves it into place.
Result<> commit(TemporaryFile& file, const PushRequest& push, const std::string& where) {
    struct stat info {};
    if (::fstat(file.fd(), &info) != 0) return fail_errno(where + ": fstat");
    // Only when it differs, so that an unprivileged agent (host tests) can push its own files;
    // before fchmod, because a change of owner clears the set-id bits.
    if ((info.st_uid != push.uid || info.st_gid != push.gid) &&
        ::fchown(file.fd(), push.uid, push.gid) != 0)
        return fail_errno(fmt::format("{}: chown to {}:{}", where, push.uid, push.gid));
    if (::fchmod(file.fd(), push.mode) != 0)
        return fail_errno(fmt::format("{}: chmod {:o}", where, push.mode));
    if (::fsync(file.fd()) != 0) return fail_errno(where + ": fsync");
    if (::rename(file.path().c_str(), push.path.c_str()) != 0)
        return fail_errno(fmt::format("{}: rename {} into place", where, file.path()));
    file.keep();
    // The rename itself is durable only once the directory is.
    auto slash = push.path.rfind('/');
    auto directory =
        TRY_CTX(open_file(slash == 0 ? "/" : push.path.substr(0, slash), O_RDONLY | O_DIRECTORY),
                "{}", where);
    if (::fsync(directory.get()) != 0) return fail_errno(where + ": fsync the directory");
    return {};
}

}  // namespace

Result<> run_push(int connection, const JsonAt& request) {
    auto push = TRY_CTX(parse_push(request), "push");
    std::string where = "push " + single_line(push.path);
    auto file = TRY(create_temporary(push, where));
    TRY(reply_ok(connection));

    uint64_t size = 0;
    // A failure while the host is still sending: the rest of its input is read and dropped so
    // that the host, which writes everything before reading the final reply, gets to read it.
    std::optional<Error> failed;
    for (;;) {
        auto frame = read_frame(connection);
        if (!frame) return std::unexpected(frame.error().context(where));
        if (!*frame) return fail("{}: the host closed the connection before input-end", where);
        if ((*frame)->type == FrameType::input_end) break;
        if ((*frame)->type != FrameType::input)
            return fail("{}: unexpected {} frame", where, frame_type_name((*frame)->type));
        if (failed) continue;
        if (auto written = write_all(file.fd(), (*frame)->payload); !written) {
            failed =
                std::move(written.error().context(fmt::format("{}: write {}", where, file.path())));
            file.discard();
            continue;
        }
        size += (*frame)->payload.size();
    }
    if (failed) return std::unexpected(std::move(*failed));
    TRY(commit(file, push, where));
    return reply_ok(connection, {{"size", size}});
}

Result<> run_pull(int connection, const JsonAt& request) {
    auto path = TRY_CTX(absolute_path(request), "pull");
    std::string where = "pull " + single_line(path);
    // O_NONBLOCK: opening a FIFO must not hang the operation before it is refused below.
    int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (raw < 0) return fail_errno(where);
    UniqueFd fd(raw);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail_errno(where + ": fstat");
    if (S_ISDIR(info.st_mode)) return fail("{}: is a directory", where);
    if (!S_ISREG(info.st_mode)) return fail("{}: not a regular file", where);
    ::fcntl(fd.get(), F_SETFL, 0);

    TRY(reply_ok(connection, {{"mode", info.st_mode & 07777},
                              {"uid", info.st_uid},
                              {"gid", info.st_gid},
                              {"size", info.st_size}}));
    // Until end of file rather than st_size bytes: /proc and /sys files report size 0, and a
    // file that grows meanwhile is sent as read.
    std::string buffer(pull_chunk, '\0');
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(where + ": read");
        if (n == 0) break;
        TRY_CTX(write_frame(connection, FrameType::output,
                            std::string_view(buffer.data(), static_cast<size_t>(n))),
                "{}", where);
    }
    return write_frame(connection, FrameType::output_end, {});
}

}  // namespace vessel::agent
