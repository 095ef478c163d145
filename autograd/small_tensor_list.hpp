/// \file
/// SmallTensorList<T>: a short list of tensors held inline, for the inputs
/// of a recorded op and the gradients its backward returns (tape.hpp calls
/// them Inputs<T> and Gradients<T>).
///
/// Most ops have one to three inputs. A std::vector allocates a block for
/// every graph node and every backward step and frees it again; on a tape of
/// tiny tensors those two heap calls were a visible part of an op's cost
/// (CHANGELOG.md, "Performance history", issue #19). This list keeps up to three tensors in
/// itself and only a longer one (concat, stack) in a std::vector. xtensor's
/// own small vector, xt::svector, is made for shapes: it copies elements over
/// live ones without destroying them, which would leak a Tensor's reference.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// A list of tensors that keeps up to `inline_capacity` of them without a
/// heap allocation; otherwise a std::vector<Tensor<T>> in use (indexing,
/// iteration, push_back, resize) and convertible from one.
template <class T>
class SmallTensorList {
public:
    /// How many tensors are held without a heap allocation.
    static constexpr std::size_t inline_capacity = 3;
    /// The element type.
    using value_type = Tensor<T>;
    /// Iterators are plain pointers into the list.
    using iterator = Tensor<T>*;
    /// Read-only iterator.
    using const_iterator = const Tensor<T>*;

    /// An empty list.
    SmallTensorList() = default;
    /// `n` undefined tensors, to be set by index (a backward's gradients).
    explicit SmallTensorList(std::size_t n) { resize(n); }
    /// The tensors given, in order.
    SmallTensorList(std::initializer_list<Tensor<T>> tensors) { assign(tensors.begin(), tensors.end()); }
    /// The tensors of a std::vector, in order (implicit, so a backward may
    /// build its gradients in a TensorList and return it).
    SmallTensorList(const std::vector<Tensor<T>>& tensors) { assign(tensors.begin(), tensors.end()); }
    /// The tensors of [first, last).
    template <class It>
    SmallTensorList(It first, It last) {
        assign(first, last);
    }
    /// A copy (shares the tensors, as copying a Tensor does).
    SmallTensorList(const SmallTensorList& other) { assign(other.begin(), other.end()); }
    /// Takes the tensors of `other`, which is left empty.
    SmallTensorList(SmallTensorList&& other) noexcept { take(other); }
    /// Replaces the contents with a copy of `other`'s.
    SmallTensorList& operator=(const SmallTensorList& other) {
        if (this != &other) {
            SmallTensorList copy(other);
            clear();
            take(copy);
        }
        return *this;
    }
    /// Replaces the contents with `other`'s, which is left empty.
    SmallTensorList& operator=(SmallTensorList&& other) noexcept {
        if (this != &other) {
            clear();
            take(other);
        }
        return *this;
    }

    /// The number of tensors.
    std::size_t size() const { return size_; }
    /// Whether the list holds none.
    bool empty() const { return size_ == 0; }
    /// The tensor at `i` (unchecked, as std::vector's).
    Tensor<T>& operator[](std::size_t i) { return data()[i]; }
    /// The tensor at `i` (unchecked, as std::vector's).
    const Tensor<T>& operator[](std::size_t i) const { return data()[i]; }
    /// The last tensor (the list must not be empty).
    Tensor<T>& back() { return data()[size_ - 1]; }
    /// The last tensor (the list must not be empty).
    const Tensor<T>& back() const { return data()[size_ - 1]; }
    /// The first tensor.
    Tensor<T>* data() { return on_heap() ? heap_.data() : inline_; }
    /// The first tensor.
    const Tensor<T>* data() const { return on_heap() ? heap_.data() : inline_; }
    /// The first tensor.
    iterator begin() { return data(); }
    /// Past the last tensor.
    iterator end() { return data() + size_; }
    /// The first tensor.
    const_iterator begin() const { return data(); }
    /// Past the last tensor.
    const_iterator end() const { return data() + size_; }

    /// Appends `t`.
    void push_back(Tensor<T> t) {
        if (size_ == inline_capacity) spill(size_ + 1);
        if (on_heap() || size_ == inline_capacity)
            heap_.push_back(std::move(t));
        else
            inline_[size_] = std::move(t);
        ++size_;
    }
    /// Grows with undefined tensors or shrinks to `n`.
    void resize(std::size_t n) {
        if (n > inline_capacity) {
            if (!on_heap()) spill(n);
            heap_.resize(n);
        } else if (on_heap()) {
            for (std::size_t i = 0; i < n; ++i) inline_[i] = std::move(heap_[i]);
            heap_.clear();
        } else {
            for (std::size_t i = n; i < size_; ++i) inline_[i] = Tensor<T>();
        }
        size_ = n;
    }
    /// Drops every tensor.
    void clear() {
        heap_.clear();
        for (std::size_t i = 0; i < inline_capacity && i < size_; ++i) inline_[i] = Tensor<T>();
        size_ = 0;
    }

private:
    bool on_heap() const { return size_ > inline_capacity; }
    template <class It>
    void assign(It first, It last) {
        const auto n = static_cast<std::size_t>(std::distance(first, last));
        if (n > inline_capacity)
            heap_.assign(first, last);
        else
            for (std::size_t i = 0; first != last; ++first, ++i) inline_[i] = *first;
        size_ = n;
    }
    // Moves the inline tensors to the heap, with room for `capacity`.
    void spill(std::size_t capacity) {
        heap_.reserve(capacity);
        for (std::size_t i = 0; i < size_; ++i) heap_.push_back(std::move(inline_[i]));
        for (std::size_t i = 0; i < size_; ++i) inline_[i] = Tensor<T>();
    }
    // Takes other's tensors; this list is empty and other is left empty.
    void take(SmallTensorList& other) noexcept {
        if (other.on_heap()) {
            heap_.swap(other.heap_);
        } else {
            for (std::size_t i = 0; i < other.size_; ++i) inline_[i] = std::move(other.inline_[i]);
        }
        size_ = other.size_;
        other.size_ = 0;
    }

    Tensor<T> inline_[inline_capacity];
    std::vector<Tensor<T>> heap_;
    std::size_t size_ = 0;
};

}  // namespace tapegrad
