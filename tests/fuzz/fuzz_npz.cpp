// Any file given to the .npz reader (the zip layer: central directory, local
// headers, stored and deflated members, CRCs), then every member decoded in
// each dtype nn and checkpoints use. Only tapegrad::Error may come out.
#include <tapegrad/autograd/tensor.hpp>
#include "decode_all.hpp"
#include "input_file.hpp"
#include <tapegrad/io/npz.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static InputFile file;
    const std::string& path = file.hold(data, size);
    tapegrad::io::npz::Members members;
    try {
        members = tapegrad::io::npz::read(path);
    } catch (const tapegrad::Error&) {
        return 0;
    }
    for (const auto& [name, bytes] : members) decode_all(bytes, name);
    return 0;
}
