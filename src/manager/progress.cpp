#include "manager/progress.h"

namespace vessel::manager {

namespace {
constexpr auto min_interval = std::chrono::milliseconds(250);
}

void ProgressReporter::stage(std::string name, uint64_t total) {
    stage_ = std::move(name);
    total_ = total;
    done_ = 0;
    publish();
}

void ProgressReporter::bytes(uint64_t done) {
    done_ = done;
    if (std::chrono::steady_clock::now() - last_ >= min_interval) publish();
}

void ProgressReporter::publish() {
    last_ = std::chrono::steady_clock::now();
    Json metadata = {
        {"action", action_}, {"instance", instance_}, {"stage", stage_}, {"bytes", done_}};
    if (total_ > 0) metadata["total"] = total_;
    events_.publish({{"type", "progress"}, {"metadata", std::move(metadata)}});
}

}  // namespace vessel::manager
