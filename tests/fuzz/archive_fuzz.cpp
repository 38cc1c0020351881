// Image import's tarball extraction (libarchive) with whatever the tarball holds: absolute and
// ".." names, symlinks and hard links pointing out, device nodes, links through planted symlinks.
// Each run extracts into a fresh directory beside a decoy directory holding one file; afterwards
// the decoy must be untouched and nothing else may exist beside the two, whatever the extraction
// returned. The directory is removed after each run.
#include "escape_scratch.h"
#include "fuzz_input.h"
#include "manager/image/image_store.h"
#include "memfd_file.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::MemfdFile tarball({data, size});
    fuzz::Scratch scratch;
    (void)manager::extract_rootfs(tarball.path(), scratch.path() + "/root");
    fuzz::check_nothing_escaped(scratch.path());
    return 0;
}
