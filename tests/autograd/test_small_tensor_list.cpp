// SmallTensorList, the inline list behind an op's inputs and its gradients:
// it must hold, move and release tensors exactly as a std::vector would, on
// both sides of its inline capacity.
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/small_tensor_list.hpp>

using namespace tapegrad;

namespace {
// Tensors whose values are their index, so order is visible.
std::vector<Tensor<double>> numbered(std::size_t n) {
    std::vector<Tensor<double>> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(Tensor<double>::scalar(double(i)));
    return v;
}
// How many handles share each tensor's node (1: only `v` holds it).
std::vector<long> holders(const std::vector<Tensor<double>>& v) {
    std::vector<long> counts;
    for (const auto& t : v) counts.push_back(t.impl().use_count());
    return counts;
}
std::vector<double> values(const SmallTensorList<double>& list) {
    std::vector<double> out;
    for (const auto& t : list) out.push_back(t.defined() ? t.item() : -1.0);
    return out;
}
}  // namespace

TEST_CASE("SmallTensorList keeps order and shares the tensors, inline and past its inline capacity") {
    for (std::size_t n : {0, 1, 3, 4, 9}) {
        CAPTURE(n);
        const auto source = numbered(n);
        {
            SmallTensorList<double> list(source.begin(), source.end());
            CHECK(list.size() == n);
            std::vector<double> expected;
            for (std::size_t i = 0; i < n; ++i) expected.push_back(double(i));
            CHECK(values(list) == expected);
            for (std::size_t i = 0; i < n; ++i) CHECK(list[i].same_as(source[i]));
            CHECK(holders(source) == std::vector<long>(n, 2));
            SmallTensorList<double> copy = list;
            CHECK(holders(source) == std::vector<long>(n, 3));
            SmallTensorList<double> moved = std::move(copy);
            CHECK(copy.empty());
            CHECK(holders(source) == std::vector<long>(n, 3));
            moved = list;  // copy-assign over a full list releases what it held
            CHECK(holders(source) == std::vector<long>(n, 3));
            moved.clear();
            CHECK(moved.empty());
            CHECK(holders(source) == std::vector<long>(n, 2));
        }
        CHECK(holders(source) == std::vector<long>(n, 1));  // nothing leaked
    }
}

TEST_CASE("SmallTensorList grows by push_back and resize across its inline capacity and back") {
    const auto source = numbered(6);
    SmallTensorList<double> list;
    for (const auto& t : source) list.push_back(t);
    CHECK(values(list) == std::vector<double>{0, 1, 2, 3, 4, 5});
    CHECK(list.back().item() == 5);
    list.resize(2);  // back inline: the rest is released
    CHECK(values(list) == std::vector<double>{0, 1});
    CHECK(holders(source) == std::vector<long>{2, 2, 1, 1, 1, 1});
    list.resize(5);  // out again, with undefined tensors
    CHECK(values(list) == std::vector<double>{0, 1, -1, -1, -1});
    list[4] = source[5];
    list.push_back(source[3]);
    CHECK(values(list) == std::vector<double>{0, 1, -1, -1, 5, 3});
    list.resize(3);
    list.resize(1);
    CHECK(values(list) == std::vector<double>{0});
    SmallTensorList<double> gradients(2);  // a backward's gradients, set by index
    CHECK(values(gradients) == std::vector<double>{-1, -1});
    list = std::move(gradients);
    CHECK(values(list) == std::vector<double>{-1, -1});
    CHECK(holders(source) == std::vector<long>(6, 1));
}
