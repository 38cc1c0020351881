// OCI config.json: any bytes through the JSON parser and the spec's parser and validation. A
// document is either a Spec or an error naming what is wrong; nothing in between may throw or
// crash. The device rules a valid spec holds must read back from the form the runtime's state
// stores them in (device_rules_json), as `vessel-runc update` does.
#include <cstdlib>

#include "container/spec/spec.h"
#include "fuzz_input.h"

using namespace vessel;
using namespace vessel::container::spec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto document = parse_json(fuzz::as_text({data, size}), "config.json");
    if (!document) return 0;
    // `vessel-runc update --resources` takes a linux.resources object on its own.
    if (document->is_object() && document->contains("linux") && (*document)["linux"].is_object() &&
        (*document)["linux"].contains("resources"))
        (void)parse_resources_object((*document)["linux"]["resources"]);
    auto spec = parse_spec(*document);
    if (!spec) {
        if (spec.error().message().empty()) std::abort();  // every refusal says why
        return 0;
    }
    Json stored = {{"devices", device_rules_json(spec->linux_config.resources.devices)}};
    auto reread = parse_resources_object(stored);
    if (!reread || reread->devices.size() != spec->linux_config.resources.devices.size())
        std::abort();
    for (size_t i = 0; i < reread->devices.size(); ++i) {
        const auto& a = reread->devices[i];
        const auto& b = spec->linux_config.resources.devices[i];
        if (a.allow != b.allow || a.type != b.type || a.major != b.major || a.minor != b.minor ||
            a.access != b.access)
            std::abort();
    }
    return 0;
}
