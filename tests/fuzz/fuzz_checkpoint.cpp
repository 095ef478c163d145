// Any file given to Trainer::resume, the entry a user's --resume reaches:
// train::load_checkpoint (the .npz layer, every entry's name, dtype and
// shape against the model and the optimizer) and then the trainer's checks
// of what it read (fingerprint, data identity, lr, epoch, history, early
// stopping). Once with SGD (momentum buffers) and once with Adam (moments,
// step counts). Only tapegrad::Error may come out, and a refused file must
// leave model, optimizer and trainer as they were.
//
// Mutating a zip's bytes mostly breaks a CRC, which the zip layer refuses
// before any entry is looked at; so when an input is a readable .npz, the
// custom mutator below mutates one member's name or .npy bytes and writes
// the archive again with our writer (valid CRCs), reaching the value checks.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include <tapegrad/io/npz.hpp>

#include "input_file.hpp"
#include "tiny_training.hpp"

namespace {

void resume_or_refuse(const std::string& path, bool adam) {
    tiny::Setup s(adam);
    const auto weights = s.model->state_dict();
    const auto state = s.optimizer->state();
    try {
        s.trainer.resume(path);
    } catch (const tapegrad::Error&) {
        // "A failed call changes nothing": a finding like any crash.
        const auto after = s.optimizer->state();
        if (!(s.model->state_dict() == weights) || !(after.buffers == state.buffers) || after.scalars != state.scalars ||
            !s.trainer.history().empty())
            std::abort();
        return;
    }
    // Accepted: training must go on from what was restored (the remaining
    // epochs, at most 3 of 2 batches; no checkpoint is written), which uses
    // the history and early stopping's best epoch.
    try {
        s.trainer.run();
    } catch (const tapegrad::Error&) {
    }
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    namespace npz = tapegrad::io::npz;
    static InputFile file;
    std::mt19937 rng(seed);
    npz::Members members;
    try {
        members = npz::read(file.hold(data, size));
    } catch (const tapegrad::Error&) {
    }
    // Not a readable archive (or 1 in 4 times anyway): mutate the raw bytes.
    if (members.empty() || rng() % 4 == 0) return LLVMFuzzerMutate(data, size, max_size);
    auto member = std::next(members.begin(), long(rng() % members.size()));
    if (rng() % 8 == 0) {  // the name: unknown, misspelt or missing entries
        std::string name = member->first;
        name.resize(name.size() + 8);
        name.resize(LLVMFuzzerMutate(reinterpret_cast<std::uint8_t*>(name.data()), name.size() - 8, name.size()));
        std::string bytes = member->second;
        members.erase(member);
        if (!name.empty()) members[name] = bytes;
    } else {  // the .npy: dtype, shape, values
        std::string& bytes = member->second;
        const std::size_t before = bytes.size();
        bytes.resize(before + 64);
        bytes.resize(LLVMFuzzerMutate(reinterpret_cast<std::uint8_t*>(bytes.data()), before, bytes.size()));
    }
    // Our writer wants a path; a file of this process in /dev/shm (memory).
    static const std::string path = "/dev/shm/tapegrad-fuzz-checkpoint-" + std::to_string(::getpid()) + ".npz";
    try {
        npz::write(path, members);
    } catch (const tapegrad::Error&) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    std::ifstream in(path, std::ios::binary);
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ::unlink(path.c_str());
    if (out.empty() || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::copy(out.begin(), out.end(), data);
    return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static InputFile file;
    const std::string& path = file.hold(data, size);
    resume_or_refuse(path, false);
    resume_or_refuse(path, true);
    return 0;
}
