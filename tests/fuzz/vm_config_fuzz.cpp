// vm.json (`vessel-vmm --config`): any bytes through the loader and then the validation the VMM
// applies before it builds a machine. Either a config or an error that says why; relative file
// names resolve next to the file, never anywhere else.
#include <cstdlib>

#include "fuzz_input.h"
#include "memfd_file.h"
#include "vm/boot/vm_config.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::MemfdFile file({data, size});
    auto config = vm::load_vm_config(file.path());
    if (!config) {
        if (config.error().message().empty()) std::abort();
        return 0;
    }
    if (config->cpus == 0) std::abort();  // the loader refuses 0, the default is 1
    (void)vm::validate_vm_config(*config);
    return 0;
}
