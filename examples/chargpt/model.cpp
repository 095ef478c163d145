#include "model.hpp"

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/rnn.hpp>
#include <tapegrad/nn/sequential.hpp>

#include "words.hpp"

namespace chargpt {

using tapegrad::Indices;
using tapegrad::Tensor;
namespace nn = tapegrad::nn;

namespace {

constexpr std::size_t n_embd = 64, n_head = 4, n_layer = 2, rnn_hidden = 128;

// makemore's CausalSelfAttention: one projection to q, k and v, heads of
// n_embd / n_head, causal scaled dot-product attention, an output projection.
class CausalSelfAttention : public nn::Module<float> {
public:
    explicit CausalSelfAttention(std::uint64_t seed)
        : c_attn_(std::make_shared<nn::Linear<float>>(nn::LinearOptions(n_embd, 3 * n_embd).seed(tapegrad::derive_seed(seed, 0)))),
          c_proj_(std::make_shared<nn::Linear<float>>(nn::LinearOptions(n_embd, n_embd).seed(tapegrad::derive_seed(seed, 1)))) {
        register_module("c_attn", c_attn_);
        register_module("c_proj", c_proj_);
    }
    Tensor<float> forward(const Tensor<float>& x) override {
        const std::size_t batch = x.shape()[0], time = x.shape()[1];
        const Tensor<float> qkv = (*c_attn_)(x);
        // (B, T, C) -> (B, H, T, C / H)
        const auto heads = [&](std::size_t part) {
            const Tensor<float> one = narrow(qkv, 2, std::int64_t(part * n_embd), std::int64_t(n_embd));
            return permute(reshape(one, {batch, time, n_head, n_embd / n_head}), {0, 2, 1, 3});
        };
        const Tensor<float> y = nn::scaled_dot_product_attention(heads(0), heads(1), heads(2), Tensor<float>(), 0, true);
        return (*c_proj_)(reshape(permute(y, {0, 2, 1, 3}), {batch, time, n_embd}));
    }

protected:
    std::string type_name() const override { return "CausalSelfAttention"; }

private:
    std::shared_ptr<nn::Linear<float>> c_attn_, c_proj_;
};

// The block's MLP, a module of its own so that its parameters are named
// "mlp.c_fc.*" and "mlp.c_proj.*" as makemore's ModuleDict names them.
class Mlp : public nn::Module<float> {
public:
    explicit Mlp(std::uint64_t seed)
        : c_fc_(std::make_shared<nn::Linear<float>>(nn::LinearOptions(n_embd, 4 * n_embd).seed(tapegrad::derive_seed(seed, 0)))),
          c_proj_(std::make_shared<nn::Linear<float>>(nn::LinearOptions(4 * n_embd, n_embd).seed(tapegrad::derive_seed(seed, 1)))) {
        register_module("c_fc", c_fc_);
        register_module("c_proj", c_proj_);
    }
    Tensor<float> forward(const Tensor<float>& x) override {
        return (*c_proj_)(gelu((*c_fc_)(x), tapegrad::GeluApproximate::Tanh));
    }

protected:
    std::string type_name() const override { return "Mlp"; }

private:
    std::shared_ptr<nn::Linear<float>> c_fc_, c_proj_;
};

// Pre-LN: x + attn(ln_1(x)), then + mlp(ln_2(x)).
class Block : public nn::Module<float> {
public:
    explicit Block(std::uint64_t seed)
        : ln_1_(std::make_shared<nn::LayerNorm<float>>(nn::LayerNormOptions({n_embd}))),
          attn_(std::make_shared<CausalSelfAttention>(tapegrad::derive_seed(seed, 0))),
          ln_2_(std::make_shared<nn::LayerNorm<float>>(nn::LayerNormOptions({n_embd}))),
          mlp_(std::make_shared<Mlp>(tapegrad::derive_seed(seed, 1))) {
        register_module("ln_1", ln_1_);
        register_module("attn", attn_);
        register_module("ln_2", ln_2_);
        register_module("mlp", mlp_);
    }
    Tensor<float> forward(const Tensor<float>& input) override {
        const Tensor<float> x = input + (*attn_)((*ln_1_)(input));
        return x + (*mlp_)((*ln_2_)(x));
    }

protected:
    std::string type_name() const override { return "Block"; }

private:
    std::shared_ptr<nn::LayerNorm<float>> ln_1_;
    std::shared_ptr<CausalSelfAttention> attn_;
    std::shared_ptr<nn::LayerNorm<float>> ln_2_;
    std::shared_ptr<Mlp> mlp_;
};

// makemore's ModuleDict "transformer": wte, wpe, h (the blocks), ln_f.
class Trunk : public nn::Module<float> {
public:
    explicit Trunk(std::uint64_t seed)
        : wte_(std::make_shared<nn::Embedding<float>>(nn::EmbeddingOptions(vocab_size, n_embd).seed(tapegrad::derive_seed(seed, 0)))),
          wpe_(std::make_shared<nn::Embedding<float>>(nn::EmbeddingOptions(block_size, n_embd).seed(tapegrad::derive_seed(seed, 1)))),
          h_(std::make_shared<nn::Sequential<float>>()),
          ln_f_(std::make_shared<nn::LayerNorm<float>>(nn::LayerNormOptions({n_embd}))) {
        for (std::size_t i = 0; i < n_layer; ++i) h_->push_back(std::make_shared<Block>(tapegrad::derive_seed(seed, 2 + i)));
        register_module("wte", wte_);
        register_module("wpe", wpe_);
        register_module("h", h_);
        register_module("ln_f", ln_f_);
    }
    Tensor<float> hidden(const Indices& tokens) {
        const std::size_t time = tokens.shape()[1];
        Indices positions = xt::arange<std::int64_t>(std::int64_t(time));
        positions.reshape({1, time});
        // (B, T, C) + (1, T, C): every row gets the same positions.
        return (*ln_f_)((*h_)((*wte_)(tokens) + (*wpe_)(positions)));
    }
    Tensor<float> forward(const Tensor<float>&) override {
        throw tapegrad::Error("Trunk: takes tokens, through the model's logits()");
    }

protected:
    std::string type_name() const override { return "ModuleDict"; }

private:
    std::shared_ptr<nn::Embedding<float>> wte_, wpe_;
    std::shared_ptr<nn::Sequential<float>> h_;
    std::shared_ptr<nn::LayerNorm<float>> ln_f_;
};

class Gpt : public LanguageModel {
public:
    explicit Gpt(std::uint64_t seed)
        : transformer_(std::make_shared<Trunk>(tapegrad::derive_seed(seed, 0))),
          lm_head_(std::make_shared<nn::Linear<float>>(
              nn::LinearOptions(n_embd, vocab_size).bias(false).seed(tapegrad::derive_seed(seed, 1)))) {
        register_module("transformer", transformer_);
        register_module("lm_head", lm_head_);
    }
    Tensor<float> logits(const Indices& tokens) override { return (*lm_head_)(transformer_->hidden(tokens)); }

protected:
    std::string type_name() const override { return "Transformer"; }

private:
    std::shared_ptr<Trunk> transformer_;
    std::shared_ptr<nn::Linear<float>> lm_head_;
};

// Embedding, one LSTM or GRU layer (batch first, zero initial state), head.
template <class Rnn>
class Recurrent : public LanguageModel {
public:
    Recurrent(const char* name, std::uint64_t seed)
        : name_(name),
          wte_(std::make_shared<nn::Embedding<float>>(nn::EmbeddingOptions(vocab_size, n_embd).seed(tapegrad::derive_seed(seed, 0)))),
          rnn_(std::make_shared<Rnn>(nn::RNNOptions(n_embd, rnn_hidden).batch_first(true).seed(tapegrad::derive_seed(seed, 1)))),
          lm_head_(std::make_shared<nn::Linear<float>>(nn::LinearOptions(rnn_hidden, vocab_size).seed(tapegrad::derive_seed(seed, 2)))) {
        register_module("wte", wte_);
        register_module("rnn", rnn_);
        register_module("lm_head", lm_head_);
    }
    Tensor<float> logits(const Indices& tokens) override { return (*lm_head_)((*rnn_)((*wte_)(tokens))); }

protected:
    std::string type_name() const override { return name_; }

private:
    std::string name_;
    std::shared_ptr<nn::Embedding<float>> wte_;
    std::shared_ptr<Rnn> rnn_;
    std::shared_ptr<nn::Linear<float>> lm_head_;
};

}  // namespace

Tensor<float> LanguageModel::forward(const Tensor<float>& tokens) {
    Indices ids = xt::cast<std::int64_t>(tokens.data());
    if (!xt::all(xt::equal(xt::cast<float>(ids), tokens.data())))
        throw tapegrad::Error("chargpt: the model takes token ids, whole numbers; got other values");
    return logits(ids);
}

std::shared_ptr<LanguageModel> make_model(const std::string& kind, std::uint64_t seed) {
    if (kind == "gpt") return std::make_shared<Gpt>(seed);
    if (kind == "lstm") return std::make_shared<Recurrent<nn::LSTM<float>>>("LSTMModel", seed);
    if (kind == "gru") return std::make_shared<Recurrent<nn::GRU<float>>>("GRUModel", seed);
    throw tapegrad::Error("chargpt: unknown model '" + kind + "' (gpt, lstm or gru)");
}

Tensor<float> loss_of(LanguageModel& model, const Rows& rows) {
    return tapegrad::cross_entropy(model.logits(rows.x), rows.y,
                                   tapegrad::CrossEntropyOptions().ignore_index(ignored_target));
}

tapegrad::optim::AdamW<float> make_optimizer(LanguageModel& model) {
    return tapegrad::optim::AdamW<float>(
        model.parameters(), tapegrad::optim::AdamWOptions(5e-4).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.01));
}

double train_step(LanguageModel& model, tapegrad::optim::AdamW<float>& optimizer, const Rows& batch) {
    const Tensor<float> loss = loss_of(model, batch);
    model.zero_grad();
    loss.backward();
    optimizer.step();
    return loss.item();
}

}  // namespace chargpt
