// Attention against PyTorch on committed fixtures (make_attention_fixtures.py,
// float64): MultiheadAttention and TransformerEncoderLayer with torch's
// weights give torch's outputs, attention weights and gradients, and
// scaled_dot_product_attention gives torch 2's formula.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/nn/transformer.hpp>

#include "../common/error_of.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using namespace tapegrad::testing;

namespace {

const std::string fixture = std::string(FIXTURES_DIR) + "/attention.npz";

const io::npz::Members& members() {
    static const io::npz::Members all = io::npz::read(fixture);
    return all;
}

xt::xarray<double> member(const std::string& name) {
    const auto found = members().find(name);
    REQUIRE_MESSAGE(found != members().end(), fixture, " has no member ", name);
    return io::npz::from_npy<double>(found->second, fixture + ":" + name);
}

Tensor<double> input(const std::string& c, const std::string& name, bool requires_grad = false) {
    return Tensor<double>(member(c + "/in/" + name), requires_grad);
}

// Both sides compute in float64, the same sums in other orders (torch's
// baddbmm and fused softmax, OpenBLAS here) over at most 16 terms of size
// about 1 through a few layers: differences of a few 1e-16 times the values.
// 1e-12 leaves room for that and fails on any real mistake (a head order,
// a mask's meaning, a missing scale change values by 1e-2 or more).
void check_close(const xt::xarray<double>& actual, const xt::xarray<double>& expected, const std::string& what) {
    INFO(what);
    REQUIRE(actual.shape() == expected.shape());
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i)
        worst = std::max(worst, std::abs(actual.flat(i) - expected.flat(i)) / (1 + std::abs(expected.flat(i))));
    CHECK(worst <= 1e-12);
}

// Loads the case's parameters into `module`, then after `output` (made from
// them) checks the output and the gradients of sum(output * probe).
void check_case(const std::string& c, Module<double>& module, const Tensor<double>& output,
                const std::vector<std::pair<std::string, Tensor<double>>>& inputs) {
    check_close(output.data(), member(c + "/out/output"), c + " output");
    sum(output * input(c, "probe")).backward();
    for (const auto& [name, p] : module.named_parameters()) check_close(p.grad().data(), member(c + "/grad/" + name), c + " grad " + name);
    for (const auto& [name, x] : inputs) check_close(x.grad().data(), member(c + "/grad/" + name), c + " grad " + name);
}

template <class M>
void load_case(M& module, const std::string& c) {
    module.load_state(extract_state<double>(members(), c + "/param/", fixture));
}

}  // namespace

TEST_CASE("MultiheadAttention, sequence first, self-attention with padding and causal masks, as torch") {
    MultiheadAttention<double> mha(8, 2);
    load_case(mha, "mha_sf");
    const Tensor<double> x = input("mha_sf", "x", true);
    const auto result = mha.attend(x, x, x, input("mha_sf", "key_padding_mask"), true, input("mha_sf", "attn_mask"));
    check_close(result.weights.data(), member("mha_sf/out/weights"), "weights");
    check_case("mha_sf", mha, result.output, {{"x", x}});
}

TEST_CASE("MultiheadAttention, batch first, cross-attention without bias, a mask per head, as torch") {
    MultiheadAttention<double> mha(MultiheadAttentionOptions(6, 3).bias(false).batch_first(true));
    load_case(mha, "mha_bf");
    const Tensor<double> q = input("mha_bf", "query", true), k = input("mha_bf", "key", true),
                         v = input("mha_bf", "value", true);
    const auto result = mha.attend(q, k, v, Tensor<double>(), true, input("mha_bf", "attn_mask"), false);
    check_close(result.weights.data(), member("mha_bf/out/weights"), "weights");
    check_case("mha_bf", mha, result.output, {{"query", q}, {"key", k}, {"value", v}});
}

TEST_CASE("TransformerEncoderLayer pre-LN (norm_first) with gelu and masks, and post-LN, as torch") {
    TransformerEncoderLayer<double> pre(TransformerEncoderLayerOptions(8, 2)
                                            .dim_feedforward(16)
                                            .dropout(0)
                                            .activation(TransformerActivation::GELU)
                                            .batch_first(true)
                                            .norm_first(true));
    load_case(pre, "enc_pre");
    const Tensor<double> src = input("enc_pre", "src", true);
    check_case("enc_pre", pre,
               pre.encode(src, input("enc_pre", "src_mask"), input("enc_pre", "src_key_padding_mask")), {{"src", src}});

    TransformerEncoderLayer<double> post(TransformerEncoderLayerOptions(8, 4).dim_feedforward(12).dropout(0));
    load_case(post, "enc_post");
    const Tensor<double> src2 = input("enc_post", "src", true);
    check_case("enc_post", post, post(src2), {{"src", src2}});
}

TEST_CASE("TransformerEncoderLayer's causal flag equals its causal mask") {
    TransformerEncoderLayer<double> layer(TransformerEncoderLayerOptions(8, 2).dim_feedforward(16).dropout(0).norm_first(true));
    const Tensor<double> src = Tensor<double>::normal({5, 2, 8}, 0, 1, 3);
    CHECK(layer.encode(src, Tensor<double>(), Tensor<double>(), true).data() ==
          layer.encode(src, causal_mask<double>(5, 5)).data());
}

TEST_CASE("scaled_dot_product_attention: torch 2's formula, broadcast mask, scale") {
    const std::string c = "sdpa";
    const Tensor<double> q = input(c, "q", true), k = input(c, "k", true), v = input(c, "v", true);
    const Tensor<double> out = scaled_dot_product_attention(q, k, v, input(c, "attn_mask"), 0, false, 0.3);
    check_close(out.data(), member(c + "/out/output"), "output");
    sum(out * input(c, "probe")).backward();
    check_close(q.grad().data(), member(c + "/grad/q"), "grad q");
    check_close(k.grad().data(), member(c + "/grad/k"), "grad k");
    check_close(v.grad().data(), member(c + "/grad/v"), "grad v");
}

TEST_CASE("scaled_dot_product_attention: is_causal is the mask that lets query i see keys 0..i, also for L != S") {
    const Tensor<double> q = Tensor<double>::normal({2, 4, 3}, 0, 1, 4), k = Tensor<double>::normal({2, 6, 3}, 0, 1, 5),
                         v = Tensor<double>::normal({2, 6, 2}, 0, 1, 6);
    Tensor<double> may_attend = Tensor<double>::zeros({4, 6});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j <= i; ++j) may_attend.at({i, j}) = 1;
    CHECK(scaled_dot_product_attention(q, k, v, Tensor<double>(), 0, true).data() ==
          scaled_dot_product_attention(q, k, v, may_attend).data());
    CHECK(error_of([&] { scaled_dot_product_attention(q, k, v, may_attend, 0, true); }) ==
          "scaled_dot_product_attention: give attn_mask or is_causal, not both (as torch)");
}

TEST_CASE("scaled_dot_product_attention: a query that may attend to nothing gives NaN, as torch") {
    const Tensor<double> q = Tensor<double>::normal({2, 3}, 0, 1, 1), k = Tensor<double>::normal({4, 3}, 0, 1, 2),
                         v = Tensor<double>::normal({4, 2}, 0, 1, 3);
    Tensor<double> mask = Tensor<double>::ones({2, 4});
    for (std::size_t j = 0; j < 4; ++j) mask.at({1, j}) = 0;
    const Tensor<double> out = scaled_dot_product_attention(q, k, v, mask);
    CHECK(std::isfinite(out.at({0, 0})));
    CHECK(std::isnan(out.at({1, 0})));
    CHECK(std::isnan(out.at({1, 1})));
}

TEST_CASE("attention: bad shapes and masks throw naming them, and nothing is recorded") {
    const Tensor<double> q = Tensor<double>::zeros({2, 3}), k = Tensor<double>::zeros({4, 3});
    CHECK(error_of([&] { scaled_dot_product_attention(q, Tensor<double>::zeros({4, 2}), k); }) ==
          "scaled_dot_product_attention: expects query (..., L, E), key (..., S, E) and value (..., S, Ev), got "
          "(2, 3), (4, 2), (4, 3)");
    CHECK(error_of([&] { scaled_dot_product_attention(q, k, k, Tensor<double>::full({2, 4}, 0.5)); }) ==
          "scaled_dot_product_attention: attn_mask (2, 4) must hold only 0s and 1s");
    CHECK(error_of([&] { scaled_dot_product_attention(q, k, k, Tensor<double>::ones({3, 4})); }).find(
              "scaled_dot_product_attention") == 0);
    CHECK(error_of([] { MultiheadAttentionOptions(10, 3); }) ==
          "MultiheadAttentionOptions: embed_dim 10 must divide into num_heads 3 heads");
    MultiheadAttention<double> mha(4, 2);
    CHECK(error_of([&] { mha(Tensor<double>::zeros({5, 2, 3})); }).find("MultiheadAttention(4, 2): expects query (L, N, 4)") == 0);
    const Tensor<double> x = Tensor<double>::zeros({5, 2, 4});
    CHECK(error_of([&] { mha.attend(x, x, x, Tensor<double>::zeros({2, 4})); }) ==
          "MultiheadAttention(4, 2): key_padding_mask must have shape (2, 5), got (2, 4)");
    CHECK(error_of([&] { mha.attend(x, x, x, Tensor<double>(), false, Tensor<double>::zeros({5, 4})); }) ==
          "MultiheadAttention(4, 2): attn_mask must have shape (5, 5) or (4, 5, 5), got (5, 4)");
}

TEST_CASE("MultiheadAttention: unbatched input, torch's parameter names and initialisation") {
    MultiheadAttention<double> mha(MultiheadAttentionOptions(4, 2).seed(5));
    std::vector<std::string> names;
    for (const auto& [name, p] : mha.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
    CHECK(xt::all(xt::equal(mha.in_proj_bias().data(), 0.0)));
    CHECK(xt::all(xt::equal(mha.out_proj().bias().data(), 0.0)));
    const double bound = std::sqrt(6.0 / (4 + 12));  // Xavier-uniform over (12, 4)
    CHECK(xt::amax(xt::abs(mha.in_proj_weight().data()))() <= bound);
    // Unbatched (L, E) equals the batch of one.
    const Tensor<double> x = Tensor<double>::normal({3, 4}, 0, 1, 9);
    const Tensor<double> batched = mha(reshape(x, {3, 1, 4}));
    CHECK(xt::allclose(mha(x).data(), xt::reshape_view(batched.data(), {3, 4}), 1e-15, 1e-15));
}
