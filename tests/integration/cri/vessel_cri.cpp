// vessel-cri: a small CRI client for our tests and the CRI benchmark (there is no crictl here).
// One call per run: the RPC's name and its request as JSON (protobuf's JSON mapping of
// cri_subset.proto), the reply printed as JSON with the proto's own field names, so that a shell
// script can drive containerd's CRI plugin the way the kubelet does and read the answers with jq.
//
//   vessel-cri --socket PATH [--timeout SECONDS] RPC [REQUEST_JSON | -]
//   vessel-cri --socket PATH exec-stream CONTAINER_ID COMMAND...
//   vessel-cri --socket PATH pod-start RUN_POD_SANDBOX_JSON CREATE_CONTAINER_JSON LOG_FILE
//
// exec-stream asks for an Exec URL and runs the command over containerd's streaming server
// (websocket_exec.h): its stdout and stderr become ours and its exit status our exit status.
// pod-start is bench/cri's measurement: RunPodSandbox, CreateContainer (in the new pod) and
// StartContainer on one connection, then until the container's first line is in its log file;
// it prints the ids and the milliseconds taken, so no process start of ours is in the figure.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "cri_subset.grpc.pb.h"
#include "websocket_exec.h"

namespace {

using namespace vessel;
namespace v1 = runtime::v1;
namespace pb = google::protobuf;

struct Stubs {
    std::unique_ptr<v1::RuntimeService::Stub> runtime;
    std::unique_ptr<v1::ImageService::Stub> image;
};

// A unary RPC bound to its request and reply types: JSON in, JSON out.
using Call = std::function<Result<std::string>(Stubs&, const std::string& request_json,
                                               std::chrono::seconds timeout)>;

template <typename Stub, typename Request, typename Reply>
Call unary(std::unique_ptr<Stub> Stubs::*which,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*)) {
    return [which, method](Stubs& stubs, const std::string& request_json,
                           std::chrono::seconds timeout) -> Result<std::string> {
        Request request;
        auto parsed = pb::util::JsonStringToMessage(request_json, &request);
        if (!parsed.ok())
            return fail("request {}: {}", Request::descriptor()->full_name(),
                        std::string(parsed.message()));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + timeout);
        Reply reply;
        grpc::Status status = ((*(stubs.*which)).*method)(&context, request, &reply);
        if (!status.ok())
            return fail("gRPC status {}: {}", static_cast<int>(status.error_code()),
                        status.error_message());
        pb::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        options.always_print_primitive_fields = true;
        std::string out;
        auto printed = pb::util::MessageToJsonString(reply, &out, options);
        if (!printed.ok()) return fail("reply: {}", std::string(printed.message()));
        return out;
    };
}

std::map<std::string, Call> calls() {
    using R = v1::RuntimeService::Stub;
    using I = v1::ImageService::Stub;
    return {
        {"Version", unary(&Stubs::runtime, &R::Version)},
        {"RunPodSandbox", unary(&Stubs::runtime, &R::RunPodSandbox)},
        {"StopPodSandbox", unary(&Stubs::runtime, &R::StopPodSandbox)},
        {"RemovePodSandbox", unary(&Stubs::runtime, &R::RemovePodSandbox)},
        {"PodSandboxStatus", unary(&Stubs::runtime, &R::PodSandboxStatus)},
        {"CreateContainer", unary(&Stubs::runtime, &R::CreateContainer)},
        {"StartContainer", unary(&Stubs::runtime, &R::StartContainer)},
        {"StopContainer", unary(&Stubs::runtime, &R::StopContainer)},
        {"RemoveContainer", unary(&Stubs::runtime, &R::RemoveContainer)},
        {"ListContainers", unary(&Stubs::runtime, &R::ListContainers)},
        {"ContainerStatus", unary(&Stubs::runtime, &R::ContainerStatus)},
        {"ExecSync", unary(&Stubs::runtime, &R::ExecSync)},
        {"Exec", unary(&Stubs::runtime, &R::Exec)},
        {"ListImages", unary(&Stubs::image, &I::ListImages)},
        {"ImageStatus", unary(&Stubs::image, &I::ImageStatus)},
    };
}

// Exec through the streaming server; the command's exit status is the result.
Result<int> exec_stream(Stubs& stubs, const std::string& container_id,
                        const std::vector<std::string>& command, std::chrono::seconds timeout) {
    v1::ExecRequest request;
    request.set_container_id(container_id);
    for (const auto& arg : command)
        request.add_cmd(arg);
    request.set_stdout(true);
    request.set_stderr(true);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ExecResponse reply;
    grpc::Status status = stubs.runtime->Exec(&context, request, &reply);
    if (!status.ok())
        return fail("Exec: gRPC status {}: {}", static_cast<int>(status.error_code()),
                    status.error_message());
    return TRY_CTX(websocket_exec(reply.url(), timeout), "streaming exec at {}", reply.url());
}

std::string call_error(const char* rpc, const grpc::Status& status) {
    return fmt::format("{}: gRPC status {}: {}", rpc, static_cast<int>(status.error_code()),
                       status.error_message());
}

Result<> parse(const std::string& json, pb::Message& message) {
    auto parsed = pb::util::JsonStringToMessage(json, &message);
    if (!parsed.ok())
        return fail("request {}: {}", message.GetDescriptor()->full_name(),
                    std::string(parsed.message()));
    return {};
}

// Whether FILE holds a whole line yet.
bool has_line(const std::string& file) {
    std::ifstream in(file);
    std::string line;
    return std::getline(in, line) && !in.eof();
}

Result<std::string> pod_start(Stubs& stubs, const std::string& pod_json,
                              const std::string& container_json, const std::string& log_file,
                              std::chrono::seconds timeout) {
    v1::RunPodSandboxRequest run_pod;
    v1::CreateContainerRequest create;
    TRY(parse(pod_json, run_pod));
    TRY(parse(container_json, create));
    auto begin = std::chrono::steady_clock::now();
    auto deadline = std::chrono::system_clock::now() + timeout;
    v1::RunPodSandboxResponse pod;
    {
        grpc::ClientContext context;
        context.set_deadline(deadline);
        auto status = stubs.runtime->RunPodSandbox(&context, run_pod, &pod);
        if (!status.ok()) return fail(call_error("RunPodSandbox", status));
    }
    create.set_pod_sandbox_id(pod.pod_sandbox_id());
    *create.mutable_sandbox_config() = run_pod.config();
    v1::CreateContainerResponse container;
    {
        grpc::ClientContext context;
        context.set_deadline(deadline);
        auto status = stubs.runtime->CreateContainer(&context, create, &container);
        if (!status.ok())
            return fail("pod {}: {}", pod.pod_sandbox_id(), call_error("CreateContainer", status));
    }
    {
        v1::StartContainerRequest start;
        start.set_container_id(container.container_id());
        v1::StartContainerResponse started;
        grpc::ClientContext context;
        context.set_deadline(deadline);
        auto status = stubs.runtime->StartContainer(&context, start, &started);
        if (!status.ok())
            return fail("pod {}: {}", pod.pod_sandbox_id(), call_error("StartContainer", status));
    }
    // The log is written by the shim as the output arrives: poll it finely.
    while (!has_line(log_file)) {
        if (std::chrono::system_clock::now() > deadline)
            return fail("pod {}: no line in {} in time", pod.pod_sandbox_id(), log_file);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - begin;
    return fmt::format(
        R"({{"pod_sandbox_id": "{}", "container_id": "{}", "milliseconds": {:.2f}}})",
        pod.pod_sandbox_id(), container.container_id(), elapsed.count());
}

int usage() {
    std::fprintf(stderr,
                 "usage: vessel-cri --socket PATH [--timeout SECONDS] RPC [REQUEST_JSON | -]\n"
                 "       vessel-cri --socket PATH [--timeout SECONDS] exec-stream ID COMMAND...\n"
                 "       vessel-cri --socket PATH [--timeout SECONDS] pod-start POD_JSON "
                 "CONTAINER_JSON LOG_FILE\n"
                 "RPCs:");
    for (const auto& [name, call] : calls())
        std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string socket;
    std::chrono::seconds timeout{60};
    size_t i = 0;
    for (; i < args.size() && args[i].starts_with("--"); i += 2) {
        if (i + 1 >= args.size()) return usage();
        if (args[i] == "--socket") {
            socket = args[i + 1];
        } else if (args[i] == "--timeout") {
            long seconds = 0;
            const std::string& text = args[i + 1];
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
            if (error != std::errc() || end != text.data() + text.size() || seconds <= 0) {
                std::fprintf(stderr,
                             "vessel-cri: --timeout: not a positive number of seconds: %s\n",
                             text.c_str());
                return 2;
            }
            timeout = std::chrono::seconds(seconds);
        } else {
            std::fprintf(stderr, "vessel-cri: unknown option %s\n", args[i].c_str());
            return usage();
        }
    }
    if (socket.empty() || i >= args.size()) return usage();
    auto channel = grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
    Stubs stubs{v1::RuntimeService::NewStub(channel), v1::ImageService::NewStub(channel)};
    const std::string& rpc = args[i];

    if (rpc == "exec-stream") {
        if (i + 2 >= args.size()) return usage();
        std::vector<std::string> command(args.begin() + static_cast<long>(i) + 2, args.end());
        auto status = exec_stream(stubs, args[i + 1], command, timeout);
        if (!status) {
            std::fprintf(stderr, "vessel-cri: %s\n", status.error().message().c_str());
            return 125;
        }
        return *status;
    }

    if (rpc == "pod-start") {
        if (i + 3 >= args.size()) return usage();
        auto result = pod_start(stubs, args[i + 1], args[i + 2], args[i + 3], timeout);
        if (!result) {
            std::fprintf(stderr, "vessel-cri: pod-start: %s\n", result.error().message().c_str());
            return 1;
        }
        std::printf("%s\n", result->c_str());
        return 0;
    }

    auto table = calls();
    auto call = table.find(rpc);
    if (call == table.end()) {
        std::fprintf(stderr, "vessel-cri: unknown RPC %s\n", rpc.c_str());
        return usage();
    }
    std::string request = "{}";
    if (i + 1 < args.size()) request = args[i + 1];
    if (request == "-")
        request.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    auto reply = call->second(stubs, request, timeout);
    if (!reply) {
        std::fprintf(stderr, "vessel-cri: %s: %s\n", rpc.c_str(), reply.error().message().c_str());
        return 1;
    }
    std::printf("%s\n", reply->c_str());
    return 0;
}
