#include "cli/file_client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "agent/protocol.h"
#include "base/file.h"
#include "base/json.h"
#include "base/unique_fd.h"

namespace vessel {

namespace {

using agent::Frame;
using agent::FrameType;

constexpr size_t chunk_size = 256 * 1024;

// Whole frames from a blocking connection, starting with what arrived with the switch.
class FrameReader {
  public:
    FrameReader(int connection, std::string early_bytes) : connection_(connection) {
        decoder_.append(early_bytes);
    }

    Result<Frame> next(std::string_view waiting_for) {
        std::vector<char> buffer(chunk_size);
        for (;;) {
            if (auto frame = TRY(decoder_.next())) return std::move(*frame);
            ssize_t n = ::read(connection_, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail_errno(fmt::format("read {} from vesseld", waiting_for));
            if (n == 0) return fail("vesseld closed the connection before {}", waiting_for);
            decoder_.append(std::string_view(buffer.data(), static_cast<size_t>(n)));
        }
    }

    // A reply frame, checked: its JSON, or the error it carries.
    Result<Json> reply(std::string_view waiting_for) {
        auto frame = TRY(next(waiting_for));
        if (frame.type != FrameType::reply)
            return fail("unexpected {} frame from vesseld where {} was due",
                        agent::frame_type_name(frame.type), waiting_for);
        auto json = TRY(agent::frame_json(frame));
        TRY(agent::check_reply(json));
        return json;
    }

  private:
    int connection_;
    agent::FrameDecoder decoder_;
};

// A file written beside its destination and renamed over it only when complete.
class PartialFile {
  public:
    static Result<PartialFile> beside(const std::string& destination) {
        std::string pattern = destination + ".vessel-pull.XXXXXX";
        int fd = ::mkstemp(pattern.data());
        if (fd < 0) return fail_errno(fmt::format("create a file beside {}", destination));
        return PartialFile(UniqueFd(fd), std::move(pattern), destination);
    }
    PartialFile(PartialFile&& other) noexcept
        : fd_(std::move(other.fd_)),
          path_(std::exchange(other.path_, {})),
          destination_(std::move(other.destination_)) {}
    PartialFile& operator=(PartialFile&&) = delete;
    ~PartialFile() {
        if (!path_.empty()) ::unlink(path_.c_str());
    }

    int fd() const { return fd_.get(); }

    Result<> commit(mode_t mode) {
        // fchmod, not the umask: the copy has the instance's permission bits.
        if (::fchmod(fd_.get(), mode & 07777) != 0)
            return fail_errno(fmt::format("chmod {}", destination_));
        if (::rename(path_.c_str(), destination_.c_str()) != 0)
            return fail_errno(fmt::format("rename into {}", destination_));
        path_.clear();
        return {};
    }

  private:
    PartialFile(UniqueFd fd, std::string path, std::string destination)
        : fd_(std::move(fd)), path_(std::move(path)), destination_(std::move(destination)) {}

    UniqueFd fd_;
    std::string path_;  // empty once renamed into place
    std::string destination_;
};

}  // namespace

Result<uint64_t> send_pushed_file(int connection, std::string early_bytes, int source) {
    FrameReader reader(connection, std::move(early_bytes));
    TRY(reader.reply("the push's first reply"));
    std::vector<char> buffer(chunk_size);
    for (;;) {
        ssize_t n = ::read(source, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("read the file to push");
        if (n == 0) break;
        auto sent = agent::write_frame(connection, FrameType::input,
                                       std::string_view(buffer.data(), static_cast<size_t>(n)));
        if (!sent) {
            // The far end stopped reading: its reply, when it sent one, says why.
            auto reply = reader.reply("the push's reply");
            if (!reply) return std::unexpected(reply.error());
            return std::unexpected(sent.error());
        }
    }
    TRY(agent::write_frame(connection, FrameType::input_end, ""));
    auto done = TRY(reader.reply("the push's final reply"));
    return TRY(JsonAt(done, "push reply").optional_integer_in<uint64_t>("size")).value_or(0);
}

Result<uint64_t> receive_pulled_file(int connection, std::string early_bytes,
                                     const std::string& destination) {
    FrameReader reader(connection, std::move(early_bytes));
    auto info = TRY(reader.reply("the pull's first reply"));
    auto mode = TRY(JsonAt(info, "pull reply").optional_integer_in<mode_t>("mode")).value_or(0644);
    std::optional<PartialFile> partial;
    if (destination != "-") partial.emplace(TRY(PartialFile::beside(destination)));
    int out = partial ? partial->fd() : 1;
    uint64_t received = 0;
    for (;;) {
        auto frame = TRY(reader.next("the end of the file"));
        if (frame.type == FrameType::output) {
            TRY_CTX(write_all(out, frame.payload), "write {}", destination);
            received += frame.payload.size();
        } else if (frame.type == FrameType::output_end) {
            break;
        } else if (frame.type == FrameType::reply) {
            TRY(agent::check_reply(TRY(agent::frame_json(frame))));
            return fail("pull: a second reply came before the end of the file");
        } else {
            return fail("pull: unexpected {} frame from vesseld",
                        agent::frame_type_name(frame.type));
        }
    }
    if (partial) TRY(partial->commit(mode));
    return received;
}

}  // namespace vessel
