// Any file given to the IDX readers, raw or gzip (the reader sniffs the gzip
// magic itself): each input is read both as images and as labels. Only
// tapegrad::Error may come out; any other exception reaches libFuzzer as an
// abort, and so do crashes, leaks, UB and allocations over -malloc_limit_mb.
#include "input_file.hpp"
#include "read_idx_both.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static InputFile file;
    const std::string& path = file.hold(data, size);
    read_idx_both(path);
    return 0;
}
