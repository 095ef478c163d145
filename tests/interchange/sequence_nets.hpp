// The sequence modules of the fixtures (make_sequence_fixtures.py), built
// from the `config` member each case stores, and run as PyTorch ran them.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/rnn.hpp>

namespace interchange {

using namespace tapegrad;

// A module of the fixtures; `kind` as config[0]: 0 LSTM, 1 GRU, 2 LSTMCell,
// 3 GRUCell, 4 Embedding.
struct SequenceNet {
    std::int64_t kind;
    std::shared_ptr<nn::Module<double>> module;
};

// config = [kind, size0, size1, num_layers, bias, batch_first, bidirectional,
// padding_idx or -1], as make_sequence_fixtures.py's config_of writes it.
inline SequenceNet make_sequence_net(const xt::xarray<std::int64_t>& config, std::uint64_t seed) {
    if (config.size() != 8) throw Error("interchange: a config has 8 numbers");
    const auto size0 = std::size_t(config(1)), size1 = std::size_t(config(2));
    const nn::RNNOptions rnn = nn::RNNOptions(size0, size1)
                                   .num_layers(std::size_t(config(3)))
                                   .bias(config(4) != 0)
                                   .batch_first(config(5) != 0)
                                   .bidirectional(config(6) != 0)
                                   .seed(seed);
    const nn::RNNCellOptions cell = nn::RNNCellOptions(size0, size1).bias(config(4) != 0).seed(seed);
    switch (config(0)) {
        case 0: return {0, std::make_shared<nn::LSTM<double>>(rnn)};
        case 1: return {1, std::make_shared<nn::GRU<double>>(rnn)};
        case 2: return {2, std::make_shared<nn::LSTMCell<double>>(cell)};
        case 3: return {3, std::make_shared<nn::GRUCell<double>>(cell)};
        case 4: {
            nn::EmbeddingOptions options(size0, size1);
            if (config(7) >= 0) options.padding_idx(config(7));
            return {4, std::make_shared<nn::Embedding<double>>(options.seed(seed))};
        }
    }
    throw Error("interchange: no module of kind " + std::to_string(config(0)));
}

// What the module gives, named as the fixtures name it: "output", "h_n" and
// "c_n" (a cell's next h and c are "h_n" and "c_n"). `input` for the
// recurrent modules, `ids` for Embedding; h0 and c0 may be undefined.
inline std::map<std::string, Tensor<double>> run_sequence_net(const SequenceNet& net, const Tensor<double>& input,
                                                              const Indices& ids, const Tensor<double>& h0,
                                                              const Tensor<double>& c0) {
    switch (net.kind) {
        case 0: {
            const auto out = static_cast<nn::LSTM<double>&>(*net.module)(input, {h0, c0});
            return {{"output", out.output}, {"h_n", out.state.h}, {"c_n", out.state.c}};
        }
        case 1: {
            const auto out = static_cast<nn::GRU<double>&>(*net.module)(input, h0);
            return {{"output", out.output}, {"h_n", out.h}};
        }
        case 2: {
            const auto out = static_cast<nn::LSTMCell<double>&>(*net.module)(input, {h0, c0});
            return {{"h_n", out.h}, {"c_n", out.c}};
        }
        case 3: return {{"h_n", static_cast<nn::GRUCell<double>&>(*net.module)(input, h0)}};
        default: return {{"output", static_cast<nn::Embedding<double>&>(*net.module)(ids)}};
    }
}

}  // namespace interchange
