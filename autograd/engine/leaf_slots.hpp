// The backward pass's table of its leaves (engine/backward.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::detail {

// Where each leaf reached by one backward pass sits in that pass's order: an
// open-addressing hash table owned by the pass, inline while small (a model's
// parameters; no allocation). A leaf (a parameter) may be reached by passes
// running on other threads at the same time, so unlike the interior nodes,
// which belong to one graph and one thread, it carries no scratch of the pass
// (visit_epoch, backward_slot) in itself.
template <class T>
class LeafSlots {
public:
    LeafSlots() = default;
    LeafSlots(const LeafSlots&) = delete;
    LeafSlots& operator=(const LeafSlots&) = delete;

    // Stores `slot` for `leaf` and returns true, or returns false if it has one.
    bool add(const TensorImpl<T>* leaf, std::size_t slot) {
        if (2 * (count_ + 1) > size_) grow();
        Entry& e = probe(leaf);
        if (e.leaf) return false;
        e = {leaf, slot};
        ++count_;
        return true;
    }
    std::size_t slot(const TensorImpl<T>* leaf) const { return probe(leaf).slot; }
    // f(leaf, slot) for every leaf, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < size_; ++i)
            if (table_[i].leaf) f(const_cast<TensorImpl<T>*>(table_[i].leaf), table_[i].slot);
    }

private:
    struct Entry {
        const TensorImpl<T>* leaf = nullptr;
        std::size_t slot = 0;
    };
    // The entry of `leaf`, or the empty one where it belongs. Fibonacci
    // hashing: the high bits of the product, as the low bits of the address
    // of a 64-byte aligned block are all zero.
    Entry& probe(const TensorImpl<T>* leaf) const {
        const std::uint64_t key = std::uint64_t(reinterpret_cast<std::uintptr_t>(leaf));
        std::size_t i = std::size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
        while (table_[i].leaf && table_[i].leaf != leaf) i = (i + 1) & (size_ - 1);
        return table_[i];
    }
    void grow() {
        std::vector<Entry> old(table_, table_ + size_);
        heap_.assign(2 * size_, Entry{});
        table_ = heap_.data();
        size_ *= 2;
        --shift_;
        for (const Entry& e : old)
            if (e.leaf) probe(e.leaf) = e;
    }
    static constexpr std::size_t inline_size = 16;  // a power of two, at most half used
    Entry inline_[inline_size];
    std::vector<Entry> heap_;
    Entry* table_ = inline_;
    std::size_t size_ = inline_size;
    unsigned shift_ = 64 - 4;  // 64 - log2(size_)
    std::size_t count_ = 0;
};

}  // namespace tapegrad::detail
