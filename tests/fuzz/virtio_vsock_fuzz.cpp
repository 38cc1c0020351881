// virtio-vsock request handling: guest RAM and the three queues' rings from the input, and real
// host unix sockets on the other side: a listener for guest-initiated connections and a host
// client that connects through the handshake, both as the input says. Whatever packets the guest
// sends, the device answers, resets or drops connections and breaks only the queue.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "base/unique_fd.h"
#include "virtio_harness.h"
#include "vm/devices/virtio/vsock.h"

using namespace vessel;

namespace {

sockaddr_un address_of(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return address;
}

UniqueFd listen_at(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    auto address = address_of(path);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd.get(), 8) != 0)
        std::abort();
    return fd;
}

UniqueFd connect_to(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    auto address = address_of(path);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        std::abort();
    return fd;
}

// A private directory for the sockets, removed with everything in it.
class ScratchDir {
  public:
    ScratchDir() {
        char pattern[] = "/tmp/vessel-fuzz-vsock-XXXXXX";
        if (!::mkdtemp(pattern)) std::abort();
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    uint8_t options = input.take<uint8_t>();
    uint32_t listen_port = input.take<uint32_t>();
    uint32_t connect_port = input.take<uint32_t>();
    auto host_bytes = input.take_bytes(input.take<uint8_t>());

    ScratchDir dir;
    std::string socket = dir.path() + "/v.sock";
    auto device = vm::virtio::VsockDevice::create(3, socket);
    if (!device) std::abort();
    UniqueFd listener, client;
    // A host service the guest may connect to ("<socket>_<port>").
    if (options & 1) listener = listen_at(socket + "_" + std::to_string(listen_port));
    // A host program connecting to a guest port, with whatever it sends after the request line.
    if (options & 2) {
        client = connect_to(socket);
        std::string request = "CONNECT " + std::to_string(connect_port) + "\n";
        if (options & 4) request.append(fuzz::as_text(host_bytes));
        (void)::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL);
    }
    for (unsigned offset = 0; offset < 12; ++offset)
        (void)(*device)->read_config(offset, 1u << (offset % 4));
    auto harness = fuzz::VirtioHarness::create(**device, input);
    harness->run();
    return 0;
}
